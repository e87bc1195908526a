"""The one catalogue of the lab's services.

The local and AWS stacks, the runner, the conformance job and the tests all read this module; adding an
API is one entry here (plus its directory with `build.sh` and README, and a Dockerfile unless it uses
its language's shared runtime Dockerfile).
"""
from __future__ import annotations

import dataclasses
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    language: str
    framework: str
    protocol: str  # "rest", "grpc" or "grpcweb": what a client speaks to it
    port: int  # where it listens on 127.0.0.1 (host networking: unique per service)
    directory: str  # its source directory, holding Dockerfile, build.sh and README.md
    role: str  # "api", "lambda-function", "database", "gateway"
    resource_class: str  # services of one class get identical limits
    deployment: str = "container"  # "container" or "lambda"
    build_script: str | None = None  # builds the host artifact into build/<name>/
    build_args: tuple[str, ...] = ()  # arguments of the build script (a shared script builds one target)
    # What of build/ the image copies (paths relative to the root); empty: the whole build/<name>/.
    artifacts: tuple[str, ...] = ()
    # A Lambda's emulators (one per execution environment) listen on BASE+2i, their Runtime API on
    # BASE+2i+1 (lambda/rie-entrypoint.sh); see `emulator_ports`.
    emulator_base_port: int | None = None
    # The shared runtime image it is built from (RUNTIME_DOCKERFILES), or None: its own directory's Dockerfile.
    runtime: str | None = None

    @property
    def dockerfile(self) -> pathlib.Path:
        if self.runtime is not None:
            return ROOT / RUNTIME_DOCKERFILES[self.runtime]
        return ROOT / self.directory / "Dockerfile"

    @property
    def docker_build_args(self) -> dict[str, str]:
        """The build arguments of its runtime Dockerfile (which artifact, which health probe)."""
        if self.runtime is None:
            return {}
        if self.runtime == "lambda":
            return {"SERVICE": self.name}
        return {"SERVICE": self.name, "PROTOCOL": self.protocol}

    @property
    def image(self) -> str:
        return f"perflab/{self.name}"

    @property
    def artifact_dir(self) -> pathlib.Path:
        return ROOT / "build" / self.name

    @property
    def build_command(self) -> pathlib.Path:
        return ROOT / (self.build_script or f"{self.directory}/build.sh")


# One parametrized Dockerfile per runtime: the images differ only in the artifact they copy and the probe.
RUNTIME_DOCKERFILES = {"native": "apis/runtime/native.Dockerfile", "java": "apis/runtime/java.Dockerfile",
                       "python": "apis/runtime/python.Dockerfile", "lambda": "lambda/Dockerfile"}

# The emulator's files in every Lambda image (lambda/build.sh rie).
_RIE_ARTIFACTS = ("build/lambda-rie/aws-lambda-rie", "build/lambda-rie/lambda-entrypoint")

APIS: tuple[Service, ...] = (
    Service("go-rest", "go", "gin + pgx", "rest", 9083, "apis/go-rest", "api", "api", runtime="native"),
    Service("go-grpc", "go", "grpc-go + pgx", "grpc", 9092, "apis/go-grpc", "api", "api", runtime="native"),
    Service("rust-rest", "rust", "axum + sqlx", "rest", 8082, "apis/rust-rest", "api", "api", runtime="native"),
    Service("rust-grpc", "rust", "tonic + sqlx", "grpc", 9091, "apis/rust-grpc", "api", "api", runtime="native"),
    Service("java-rest", "java", "spring webflux + r2dbc", "rest", 8081, "apis/java-rest", "api", "api", runtime="java"),
    Service("java-grpc", "java", "grpc-java + r2dbc", "grpc", 9090, "apis/java-grpc", "api", "api", runtime="java"),
    Service("python-rest", "python", "starlette + uvicorn + asyncpg", "rest", 8085, "apis/python-rest", "api", "api",
            runtime="python"),
    Service("python-grpc", "python", "grpc.aio + asyncpg", "grpc", 9095, "apis/python-grpc", "api", "api",
            runtime="python"),
    # Lambdas run locally under the AWS Lambda Runtime Interface Emulator behind the local HTTP API
    # gateway (lambda/README.md); the port is the gateway's, the emulators take ports from their base
    # (19100-19199 and 19200-19299: far from every other port here). Local Lambda numbers are functional only.
    Service("lambda-go-rest", "go", "aws-lambda-go (HTTP API, payload 2.0)", "rest", 9084, "lambda/go-rest",
            "lambda-function", "lambda-function", deployment="lambda", build_script="lambda/build.sh",
            build_args=("go-rest", "rie"), emulator_base_port=19100, runtime="lambda",
            artifacts=("build/lambda-go-rest/bootstrap", *_RIE_ARTIFACTS)),
    Service("lambda-go-grpc", "go", "aws-lambda-go (HTTP API, gRPC-Web)", "grpcweb", 9093, "lambda/go-grpc",
            "lambda-function", "lambda-function", deployment="lambda", build_script="lambda/build.sh",
            build_args=("go-grpc", "rie"), emulator_base_port=19200, runtime="lambda",
            artifacts=("build/lambda-go-grpc/bootstrap", *_RIE_ARTIFACTS)),
)

# Every Lambda's emulators sit behind one gateway container of this image (lambda/gateway/Dockerfile);
# the stack gives each gateway its Lambda's name and port. Its limits are the `gateway` class.
LAMBDA_GATEWAY = Service("lambda-gateway", "go", "net/http (local API Gateway HTTP API)", "none", 0,
                         "lambda/gateway", "gateway", "gateway", build_script="lambda/build.sh",
                         build_args=("gateway",), artifacts=("build/lambda-gateway/gateway",))

# The local secrets store of the auth+secrets profile (tools/secrets-store; AWS: Secrets Manager).
SECRETS_STORE = Service("secrets-store", "go", "net/http (mock secrets store)", "rest", 8200, "tools/secrets-store",
                        "secrets-store", "secrets-store")

# Shared pieces every API image needs (the health probe is copied into each image).
HEALTHPROBE = Service("healthprobe", "go", "net/http + grpc health", "none", 0, "tools/healthprobe",
                      "tool", "tool")

# The load generator runs in its own container so its CPU is measured (and capped) like everything else.
LOADGEN = Service("loadgen", "go", "perflab loadgen", "none", 0, "tools/loadgen", "loadgen", "loadgen")

SUT_DATABASE = Service("postgres", "sql", "postgresql 15", "postgres", 5433, "db/postgres", "database",
                       "database", build_script=None)
METRICS_DATABASE = Service("metrics-postgres", "sql", "postgresql 15", "postgres", 5434, "db/postgres",
                           "metrics-database", "metrics-database")


def api(name: str) -> Service:
    for service in APIS:
        if service.name == name:
            return service
    known = ", ".join(service.name for service in APIS)
    raise KeyError(f"unknown API {name!r}; the catalogue has: {known}")


def apis(names=None) -> list[Service]:
    """The named APIs (catalogue order), or every API when `names` is None."""
    if names is None:
        return list(APIS)
    wanted = [api(name) for name in names]  # raises KeyError naming the unknown one
    return [service for service in APIS if service in wanted]


def emulator_ports(service: Service, environments: int) -> list[int]:
    """The invocation port of each of a Lambda's emulators (each also uses the next port, its Runtime API)."""
    if service.emulator_base_port is None:
        raise ValueError(f"{service.name} is not a Lambda: it has no emulators")
    return [service.emulator_base_port + 2 * i for i in range(environments)]


def stack_services(api_names=None) -> list[Service]:
    """Every service a stack deploys: the system-under-test database, the metrics database, the APIs."""
    return [SUT_DATABASE, METRICS_DATABASE, *apis(api_names)]


def shell_variables(name: str) -> str:
    """A service's entry as shell assignments, for scripts that must not restate ports: `eval "$(python -m
    perflab.catalogue lambda-go-rest)"` sets name, port, protocol, emulator_base_port."""
    service = next((s for s in (*APIS, LAMBDA_GATEWAY, SECRETS_STORE, SUT_DATABASE, METRICS_DATABASE)
                    if s.name == name), None)
    if service is None:
        raise KeyError(f"unknown service {name!r}")
    values = {"name": service.name, "port": service.port, "protocol": service.protocol,
              "emulator_base_port": service.emulator_base_port or ""}
    return "\n".join(f"{key}={value}" for key, value in values.items())


if __name__ == "__main__":
    import sys

    try:
        print(shell_variables(sys.argv[1]))
    except (IndexError, KeyError) as error:
        sys.exit(f"usage: python -m perflab.catalogue SERVICE ({error})")
