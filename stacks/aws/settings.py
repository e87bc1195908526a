"""The AWS stack's configuration (`Pulumi.aws.yaml`, read through `pulumi.Config`), typed by perflab.settings.

Besides the keys the local stack shares (limits, dbPoolMax, logLevel, maxBodyBytes, apis, lambdaDbPoolMax),
the AWS program reads: `egress` (nat | endpoints), `vpcCidr`, `database` (RDS instance class, storage,
engine version, user, database name), `rdsParameters` (extra parameter-group settings), `logRetentionDays`,
`lambdaTimeoutSeconds`, `lambdaReservedConcurrency`, `httpApiThrottle`, `cpuArchitecture`, and the runner's
`prices` (cost estimate, cost per million events) and `desiredCountUnderTest` (tasks of the API measured).
See docs/aws.md.

The auth/secrets profile (perflab.profiles) is read as by the local program: `PERFLAB_PROFILE` (one
`bench up aws --profile P`), else `perflab:profile`, else no-auth; under an auth profile the JWT key is the
secret `perflab:jwtSecretKey`, else the host's (`PERFLAB_JWT_SECRET_KEY`, else `.perflab/jwt-secret-key`,
the local stack's lookup), at least 32 bytes. The program puts it into AWS Secrets Manager (stacks/aws/auth.py).

Resource classes map to AWS sizes without rounding (a class is what every API of it gets, exactly):
- Fargate: `cpus` x 1024 = CPU units, `memory` in MiB; the pair must be one Fargate accepts
  (`FARGATE_SIZES`), else the configuration is refused with the valid memory sizes for that CPU.
- Lambda: `memory` is the function's memory size (128-10240 MiB); Lambda gives CPU in proportion to memory
  (1769 MiB = one vCPU), so `cpus` cannot be applied and is reported as the equivalent share.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os

import pulumi

from perflab import catalogue, profiles
from perflab.errors import ConfigError
from perflab.settings import PROJECT, Limits, StackConfig
from stacks.settings import _jwt_key_from_host  # the local program's lookup: both stacks find the same key

KEYS = ("target", "limits", "dbPoolMax", "maxBodyBytes", "logLevel", "apis", "lambdaDbPoolMax", "egress",
        "vpcCidr", "database", "rdsParameters", "logRetentionDays", "lambdaTimeoutSeconds",
        "lambdaReservedConcurrency", "httpApiThrottle", "cpuArchitecture", "prices", "desiredCountUnderTest",
        "profile")

EGRESS_CHOICES = ("nat", "endpoints")
# Valid Fargate task sizes: CPU units -> memory sizes (MiB) it accepts (AWS ECS task size table).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
LAMBDA_MEMORY_RANGE = (128, 10240)
LAMBDA_MIB_PER_VCPU = 1769
ARCHITECTURES = {"X86_64": ("x86_64", "linux/amd64"), "ARM64": ("arm64", "linux/arm64")}

DATABASE_DEFAULTS = {"instanceClass": "db.m7g.large", "allocatedStorage": 20, "engineVersion": "15",
                     "user": "bench", "name": "events"}


@dataclasses.dataclass(frozen=True)
class FargateSize:
    cpu: int  # CPU units (1024 = one vCPU)
    memory: int  # MiB

    def as_dict(self) -> dict:
        return {"cpu": self.cpu, "memory": self.memory, "vcpus": self.cpu / 1024}


def fargate_size(limits: Limits, resource_class: str = "?") -> FargateSize:
    """The Fargate task size of a resource class: exactly its cpus and memory, or a ConfigError."""
    cpu = limits.cpus * 1024
    mib, rest = divmod(limits.memory_bytes, 1024 ** 2)
    if cpu != int(cpu) or int(cpu) not in FARGATE_SIZES:
        valid = ", ".join(f"{units / 1024:g}" for units in FARGATE_SIZES)
        raise ConfigError(f"{PROJECT}:limits.{resource_class}: Fargate has no {limits.cpus:g}-vCPU size "
                          f"(valid cpus: {valid})")
    memories = FARGATE_SIZES[int(cpu)]
    if rest or mib not in memories:
        raise ConfigError(f"{PROJECT}:limits.{resource_class}: Fargate takes {limits.cpus:g} vCPU with "
                          f"{memories[0] // 1024}-{memories[-1] // 1024} GiB in steps of "
                          f"{(memories[1] - memories[0]) // 1024} GiB, not {limits.memory}")
    return FargateSize(int(cpu), mib)


def lambda_memory(limits: Limits, resource_class: str = "?") -> int:
    mib, rest = divmod(limits.memory_bytes, 1024 ** 2)
    low, high = LAMBDA_MEMORY_RANGE
    if rest or not low <= mib <= high:
        raise ConfigError(f"{PROJECT}:limits.{resource_class}: a Lambda's memory is {low}-{high} MiB in "
                          f"whole MiB, not {limits.memory}")
    return mib


@dataclasses.dataclass(frozen=True)
class AwsSettings:
    stack: str
    region: str
    config: StackConfig
    jwt_key: pulumi.Output | None = None  # a secret; only under a profile with auth

    @property
    def profile(self) -> profiles.Profile:
        """The APIs' auth/secrets profile. On AWS auth and auth+secrets deploy the same thing: the key (like
        the database password) lives in Secrets Manager either way, there is no SECRETS_URL store."""
        return profiles.profile(self.config.profile)

    @property
    def egress(self) -> str:
        egress = self.config.get_str("egress", "nat")
        if egress not in EGRESS_CHOICES:
            raise ConfigError(f"{PROJECT}:egress must be nat or endpoints, not {egress!r}")
        return egress

    @property
    def vpc_cidr(self) -> ipaddress.IPv4Network:
        text = self.config.get_str("vpcCidr", "10.42.0.0/16")
        try:
            network = ipaddress.IPv4Network(text)
        except ValueError:
            raise ConfigError(f"{PROJECT}:vpcCidr {text!r} is not an IPv4 network") from None
        if not 16 <= network.prefixlen <= 20:
            raise ConfigError(f"{PROJECT}:vpcCidr needs a /16 to /20 network, not /{network.prefixlen}")
        return network

    @property
    def database(self) -> dict:
        given = self.config.get("database", {}) or {}
        unknown = set(given) - set(DATABASE_DEFAULTS)
        if unknown:
            raise ConfigError(f"{PROJECT}:database has unknown keys {sorted(unknown)} "
                              f"(known: {', '.join(DATABASE_DEFAULTS)})")
        merged = {**DATABASE_DEFAULTS, **given}
        merged["allocatedStorage"] = int(merged["allocatedStorage"])
        merged["engineVersion"] = str(merged["engineVersion"])
        if merged["engineVersion"].split(".")[0] != "15":
            raise ConfigError(f"{PROJECT}:database.engineVersion must be PostgreSQL 15 like the local stack")
        return merged

    @property
    def rds_parameters(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.config.get("rdsParameters", {}) or {}).items()}

    @property
    def log_retention_days(self) -> int:
        return self.config.get_positive_int("logRetentionDays", 7)

    @property
    def lambda_timeout(self) -> int:
        return self.config.get_positive_int("lambdaTimeoutSeconds", 30)

    @property
    def lambda_reserved_concurrency(self) -> int | None:
        if self.config.get("lambdaReservedConcurrency") is None:
            return None
        return self.config.get_positive_int("lambdaReservedConcurrency", 1)

    @property
    def http_api_throttle(self) -> dict[str, float]:
        throttle = self.config.get("httpApiThrottle", {}) or {}
        return {"burstLimit": int(throttle.get("burstLimit", 5000)),
                "rateLimit": float(throttle.get("rateLimit", 10000))}

    @property
    def architecture(self) -> str:
        """X86_64 (lambda/build.sh and the APIs' build scripts build amd64 binaries) or ARM64."""
        value = self.config.get_str("cpuArchitecture", "X86_64")
        if value not in ARCHITECTURES:
            raise ConfigError(f"{PROJECT}:cpuArchitecture must be X86_64 or ARM64, not {value!r}")
        return value

    @property
    def lambda_architecture(self) -> str:
        return ARCHITECTURES[self.architecture][0]

    @property
    def docker_platform(self) -> str:
        return ARCHITECTURES[self.architecture][1]

    def limits(self, resource_class: str) -> Limits:
        return self.config.limits(resource_class)

    def fargate(self, resource_class: str) -> FargateSize:
        return fargate_size(self.limits(resource_class), resource_class)

    def lambda_memory(self, resource_class: str) -> int:
        return lambda_memory(self.limits(resource_class), resource_class)

    def apis(self) -> list[catalogue.Service]:
        """PERFLAB_APIS (one run's narrowing), else perflab:apis, else every API of the catalogue."""
        names = self.config.deployed_api_names
        try:
            services = catalogue.apis(names)
        except KeyError as error:
            raise ConfigError(f"{PROJECT}:apis: {error.args[0]}") from error
        for service in services:  # refuse a class AWS cannot size before anything is declared
            if service.deployment == "lambda":
                self.lambda_memory(service.resource_class)
            else:
                self.fargate(service.resource_class)
        return services


def jwt_key(config: pulumi.Config) -> pulumi.Output:
    """The auth profiles' key, always a secret: perflab:jwtSecretKey, else the host's; shorter than HS256's
    32 bytes is refused (a configured one when its value resolves, inside the secret)."""
    configured = config.get_secret("jwtSecretKey")
    if configured is not None:
        return configured.apply(profiles.check_key)
    return pulumi.Output.secret(profiles.check_key(_jwt_key_from_host()))


def load() -> AwsSettings:
    config = pulumi.Config(PROJECT)
    values = {f"{PROJECT}:{key}": config.get(key) for key in KEYS if config.get(key) is not None}
    chosen = os.environ.get(profiles.PROFILE_VARIABLE)
    if chosen:  # one `bench up aws --profile P`, as locally: Pulumi.aws.yaml stays as it is
        values[f"{PROJECT}:profile"] = chosen.strip()
    region = pulumi.Config("aws").get("region")
    if not region:
        raise ConfigError("aws:region is not set (Pulumi.aws.yaml, or `pulumi config set aws:region ...`)")
    stack_config = StackConfig(pulumi.get_stack(), values)
    key = jwt_key(config) if profiles.profile(stack_config.profile).auth else None
    return AwsSettings(pulumi.get_stack(), region, stack_config, key)
