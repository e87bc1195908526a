"""Host artifacts and Docker images of the catalogue's services, rebuilt only when their inputs change.

`bench build` (and `bench up`, which builds first) runs this before the Pulumi program: the program only
refers to `perflab/<name>:<content tag>` (perflab.artifacts), so evaluating it has no side effect and the
real Pulumi engine and the in-process one see the same inputs.

A cold build takes minutes, so every step shows itself: on a terminal a live line (rich) with the step,
its elapsed time, the last thing it printed (an image build's `Step n/m`) and where its log is; in a log
or CI one line when a step starts (with the log's path) and one when it ends (with its time). Each build
script's and each image build's whole output goes to `$PERFLAB_CACHE/logs/` (default
~/.cache/perflab/logs/<service>-artifact.log, <service>-image.log); a failure names that file and quotes
its end.
"""
from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator

import docker
import docker.errors
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from perflab import artifacts
from perflab.artifacts import BASE_IMAGE, is_database
from perflab.catalogue import HEALTHPROBE, LAMBDA_GATEWAY, ROOT, Service
from perflab.errors import LabError

Log = Callable[[str], None]


class BuildError(LabError):
    pass


@functools.cache
def base_image_id() -> str:
    """The base image is an input too: a rebuilt debian:bookworm-slim must rebuild every image on it."""
    try:
        return str(docker.from_env().images.get(BASE_IMAGE).id)
    except docker.errors.ImageNotFound as error:
        raise BuildError(f"base image {BASE_IMAGE} is missing: run scripts/setup (it builds it offline)") from error


def export_base_image_id() -> None:
    """Hand the base image's id to the Pulumi program (it reads PERFLAB_BASE_IMAGE_ID, never Docker)."""
    os.environ[artifacts.BASE_IMAGE_ID_VARIABLE] = base_image_id()


def content_tag(service: Service) -> str:
    return artifacts.content_tag(service, base_image_id())


def log_dir() -> pathlib.Path:
    """Where build logs go: $PERFLAB_CACHE/logs (default ~/.cache/perflab/logs)."""
    cache = os.environ.get("PERFLAB_CACHE") or str(pathlib.Path.home() / ".cache" / "perflab")
    path = pathlib.Path(cache) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _shown(path: pathlib.Path) -> str:
    home = str(pathlib.Path.home())
    return "~" + str(path)[len(home):] if str(path).startswith(home + os.sep) else str(path)


def _tail(path: pathlib.Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _console(log: Log) -> Console | None:
    """The terminal to draw a live progress line on: the caller's rich console when `log` prints to one
    (a live display already running there, like `bench run`'s, nests), else stderr if it is a terminal."""
    owner = getattr(log, "__self__", None)
    console = owner if isinstance(owner, Console) else Console(stderr=True)
    return console if console.is_terminal and not console.is_dumb_terminal else None


class _Step:
    """One build step being shown: `update` sets what it is doing now; rendered live (rich) as a spinner,
    the step and its elapsed time, then where its log is and the last thing it printed."""

    def __init__(self, what: str, log_file: pathlib.Path):
        self.what, self.log_file, self.detail = what, log_file, ""
        self.started = time.monotonic()
        self.failed = False
        self.spinner = Spinner("dots")

    def update(self, detail: str) -> None:
        self.detail = detail.strip()

    @property
    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def __rich__(self) -> RenderableType:
        head = Table.grid(padding=(0, 1))
        head.add_row(self.spinner, Text(self.what, style="bold"), Text(self.elapsed, style="cyan"))
        lines: list[RenderableType] = [head, Text(f"  log: {_shown(self.log_file)}", style="dim", no_wrap=True,
                                                  overflow="ellipsis")]
        if self.detail:
            lines.append(Text(f"  {self.detail}", style="dim", no_wrap=True, overflow="ellipsis"))
        return Group(*lines)


@contextlib.contextmanager
def _step(what: str, log_file: pathlib.Path, log: Log) -> Iterator[_Step]:
    """Show a long step: a live display on a terminal; a line at its start and at its end in any case."""
    step = _Step(what, log_file)
    log(f"{what} (log: {_shown(log_file)})")
    console = _console(log)
    try:
        if console is None:
            yield step
        else:
            with Live(step, console=console, transient=True, refresh_per_second=8):
                yield step
    except BaseException:
        step.failed = True
        raise
    finally:
        log(f"{what}: {'failed' if step.failed else 'done'} after {time.monotonic() - step.started:.1f} s")


def build_artifact(service: Service, log: Log = print) -> None:
    """Run the service's build.sh (idempotent; fast when nothing changed), its output in a log file."""
    script = service.build_command
    if not script.exists():
        raise BuildError(f"{service.name}: no build script {script.relative_to(ROOT)}")
    log_file = log_dir() / f"{service.name}-artifact.log"
    with _step(f"building {service.name} artifact ({script.relative_to(ROOT)})", log_file, log) as step, \
            log_file.open("w") as output:
        process = subprocess.Popen(["bash", str(script), *service.build_args], cwd=ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, text=True)
        while process.poll() is None:
            time.sleep(0.25)
            step.update(_tail(log_file, 1))
        step.failed = process.returncode != 0
    if process.returncode != 0:
        raise BuildError(f"{service.name}: {script.relative_to(ROOT)} failed (exit {process.returncode}); "
                         f"its output is in {log_file}, ending:\n{_tail(log_file)}")


def _build_image(client: docker.DockerClient, service: Service, reference: str, log: Log) -> None:
    """`docker build`, streamed: every line to the log file, the current `Step n/m` on screen."""
    log_file = log_dir() / f"{service.name}-image.log"
    error = None
    with _step(f"building image {reference}", log_file, log) as step, log_file.open("w") as output:
        # forcerm: no intermediate container is left behind, even when a step fails.
        chunks = client.api.build(path=str(ROOT), dockerfile=str(service.dockerfile.relative_to(ROOT)),
                                  tag=reference, rm=True, forcerm=True, pull=False,
                                  buildargs=service.docker_build_args or None,
                                  labels={"perflab.service": service.name}, decode=True)
        for chunk in chunks:
            if "stream" in chunk:
                output.write(chunk["stream"])
                if chunk["stream"].startswith("Step "):
                    step.update(chunk["stream"])
            elif "error" in chunk:
                error = chunk["error"]
                step.failed = True
                output.write(error + "\n")
            elif "status" in chunk:
                output.write(f"{chunk['status']} {chunk.get('progress', '')}\n")
            output.flush()
    if error is not None:
        raise BuildError(f"{service.name}: docker build failed: {error.strip()}; the build's output is in "
                         f"{log_file}, ending:\n{_tail(log_file)}")


def ensure_image(service: Service, client: docker.DockerClient | None = None, log: Log = print) -> str:
    """Build `perflab/<name>:<content hash>` unless it exists already; return the reference."""
    client = client or docker.from_env()
    reference = f"{service.image}:{content_tag(service)}"
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        _build_image(client, service, reference, log)
    client.images.get(reference).tag(service.image, "latest")
    prune_superseded(client, service, reference, log)
    return reference


def prune_superseded(client: docker.DockerClient, service: Service, keep: str, log: Log = print) -> None:
    """Remove this service's older content-tagged images, so rebuilding after each change does not fill the
    disk. An image a container still uses stays (Docker refuses); the new one keeps the `latest` tag."""
    for image in client.images.list(name=service.image):
        if keep in image.tags:
            continue
        for tag in image.tags:
            try:
                client.images.remove(tag, noprune=False)
                log(f"removed superseded image {tag}")
            except docker.errors.APIError:
                pass  # still used by a container (e.g. a stack not yet updated): kept


def prepare(services: Iterable[Service], client: docker.DockerClient | None = None,
            log: Log = print) -> dict[str, str]:
    """Artifacts then images for `services` (the health probe first: every API image contains it)."""
    client = client or docker.from_env()
    services = list(services)
    if any(not is_database(s) for s in services):
        build_artifact(HEALTHPROBE, log)
    references = {}
    for service in services:
        if not is_database(service):
            build_artifact(service, log)
        references[service.name] = ensure_image(service, client, log)
    return references


def stack_images(apis: Iterable[Service]) -> list[Service]:
    """Every image a local stack with these APIs refers to: the databases, the APIs, the Lambda gateway, and
    the secrets store (small; built whatever the profile, so switching profiles never waits for a build)."""
    from perflab.catalogue import METRICS_DATABASE, SECRETS_STORE, SUT_DATABASE

    apis = list(apis)
    gateway = [LAMBDA_GATEWAY] if any(s.deployment == "lambda" for s in apis) else []
    return [SUT_DATABASE, METRICS_DATABASE, *apis, *gateway, SECRETS_STORE]
