"""The results bucket: private, encrypted at rest, every form of public access blocked, no ACLs."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws


class ResultsBucket(pulumi.ComponentResource):
    def __init__(self, name: str, stack: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:ResultsBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(name, bucket_prefix=f"perflab-{stack}-results-", force_destroy=True,
                                    opts=child)
        aws.s3.BucketPublicAccessBlock(name, bucket=self.bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(name, bucket=self.bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
            object_ownership="BucketOwnerEnforced"), opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            name, bucket=self.bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.
                BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"),
                bucket_key_enabled=True)],
            opts=child)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.register_outputs({"bucket": self.name})
