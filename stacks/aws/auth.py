"""The JWT key of an auth profile (perflab.profiles) on AWS: one Secrets Manager secret whose text is the key.

- Secret + SecretVersion: the key from the stack's configuration or the host (stacks/aws/settings.py), a
  Pulumi secret all the way (encrypted in the state, never in an environment or a plain output).
- Container APIs: ECS injects it as JWT_SECRET_KEY through the container definition's `secrets` (as the
  database password arrives as PGPASSWORD); the task execution role may read this one secret.
- Lambdas: JWT_SECRET_ARN; the function reads the key at cold start (lambda/internal/lambdaenv) and its
  role may read this one secret.
- Every API also gets AUTH_ENABLED=true and the lab's issuer and audience (contract: Authentication).

`auth` and `auth+secrets` deploy the same thing here: on AWS both the database password and the key come
from Secrets Manager in either profile; there is no SECRETS_URL store and so no refresh interval (a new key
reaches a task at its next start, a Lambda at its next cold start).
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from perflab import profiles

# Environment variables of the contract the APIs get under an auth profile on AWS.
KEY_VARIABLE = "JWT_SECRET_KEY"  # ECS tasks: injected from the secret
ARN_VARIABLE = "JWT_SECRET_ARN"  # Lambdas: read from Secrets Manager at cold start


def api_environment() -> dict[str, str]:
    """The plain variables of an auth profile (the key itself never is one)."""
    return {"AUTH_ENABLED": "true", "JWT_ISSUER": profiles.ISSUER, "JWT_AUDIENCE": profiles.AUDIENCE}


class JwtKeySecret(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, *, stack: str, key: pulumi.Output, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:JwtKeySecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = aws.secretsmanager.Secret(
            name, name_prefix=f"perflab-{stack}-{profiles.JWT_KEY_SECRET}-",
            description="perflab: the HS256 key the APIs verify bearer tokens with (auth profiles)",
            # Deleted at once by `bench down aws` (a lab key, no 7-30 day recovery window to pay for).
            recovery_window_in_days=0, tags={"Name": f"perflab-{stack}-{profiles.JWT_KEY_SECRET}"}, opts=child)
        self.version = aws.secretsmanager.SecretVersion(
            name, secret_id=self.secret.id, secret_string=pulumi.Output.secret(key), opts=child)
        # The ARN once the key is in it: whoever takes it (task definitions, functions) waits for the version.
        self.arn = pulumi.Output.all(self.secret.arn, self.version.id).apply(lambda values: str(values[0]))
        # What a client needs for tokens the APIs accept (bench token aws, the runner's generator tasks).
        self.output = {"issuer": profiles.ISSUER, "audience": profiles.AUDIENCE, "key": pulumi.Output.secret(key),
                       "secretArn": self.arn}
        self.register_outputs({"arn": self.arn})
