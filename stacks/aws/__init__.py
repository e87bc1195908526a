"""The AWS stack of the lab, one ComponentResource per concern (`perflab:target: aws`, Pulumi.aws.yaml).

- `settings`: the AWS keys of the stack's configuration, and resource class -> Fargate / Lambda sizes.
- `network`: VPC over two zones, private subnets, NAT gateway or VPC endpoints (`perflab:egress`).
- `database`: RDS PostgreSQL 15 with pg_stat_statements, password managed by RDS in Secrets Manager.
- `auth`: under an auth profile, the JWT key in Secrets Manager (ECS `secrets`, the Lambdas' JWT_SECRET_ARN).
- `container_service`: per container API: ECR repository + image, Fargate task and service behind the NLB.
- `function`: per Lambda: the `bootstrap` on provided.al2023 behind its own HTTP API (payload 2.0).
- `generator`: the load generator's Fargate task definition (runner/aws_run.py starts it N times).
- `admin`: the database-admin function (runner/database.py and runner/verify.py inside the VPC).
- `storage`: the results bucket.  `iam`: roles with exactly scoped inline policies.
- `stack`: composes them and shapes the outputs the runner reads (runner/aws.py). See docs/aws.md.

Imports only `perflab` (shared names) and Pulumi; never `runner`.
"""
from stacks.aws.stack import AwsStack

__all__ = ["AwsStack"]
