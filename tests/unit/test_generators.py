"""`bench run --generators N`: the runner's side — arguments (segments, the agreed start), the CPU and memory
split, per-generator figures — and `Runner._run_loadgen` end to end with the real load generator binary
standing in for the containers (no Docker), against a small in-process HTTP API."""
from __future__ import annotations

import datetime
import gzip
import http.server
import json
import pathlib
import subprocess
import threading

import pytest

from perflab import catalogue
from perflab import settings as stack_config
from perflab.durations import iso, parse_time
from runner import generators, run, sampler, shapes

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
GO_REST = catalogue.api("go-rest")
GRPC = catalogue.api("go-grpc")


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def options(**overrides) -> run.RunOptions:
    base = {"mode": "full", "apis": [GO_REST], "payload_sizes": ["default"], "phase_scale": 0.05, "rate": 200.0,
            "warmup_seconds": 1.0}
    return run.RunOptions(**{**base, **overrides})


# --- arguments ---------------------------------------------------------------------------------------------

def test_one_generator_gets_the_arguments_it_always_had():
    arguments = run.loadgen_arguments(options(), GO_REST, "http://127.0.0.1:15083", "default", "/out")
    assert "--segment" not in arguments and "--start-at" not in arguments
    assert arguments[:5] == ["run", "--protocol", "rest", "--target", "http://127.0.0.1:15083"]
    assert arguments[arguments.index("--rate") + 1] == "200.0"


def test_each_generator_runs_its_segment_from_the_agreed_start():
    start = generators.start_time(4, now=T0)
    commands = [run.loadgen_arguments(options(), GRPC, "http://127.0.0.1:15092", "4k", "/out", g.segment, start)
                for g in generators.plan(stack_config.Limits(1.0, "1g"), 4)]
    assert [c[c.index("--segment") + 1] for c in commands] == ["1/4", "2/4", "3/4", "4/4"]
    assert {c[c.index("--start-at") + 1] for c in commands} == {iso(start)}
    assert all(c[c.index("--target") + 1] == "127.0.0.1:15092" for c in commands)
    # Everything but the segment is the same plan.
    assert len({tuple(a for a in c if a not in ("1/4", "2/4", "3/4", "4/4")) for c in commands}) == 1


def test_the_agreed_start_leaves_time_for_every_container_and_is_whole_milliseconds():
    now = T0 + datetime.timedelta(microseconds=123_456)
    for count in (2, 4, 8):
        start = generators.start_time(count, now=now)
        lead = (start - now).total_seconds()
        assert generators.start_lead_seconds(count) - 0.001 < lead <= generators.start_lead_seconds(count)
        assert start.microsecond % 1000 == 0
        assert parse_time(iso(start)) == start  # what loadgen is given is exactly the agreed time
    assert generators.start_lead_seconds(4) > generators.start_lead_seconds(2) >= 4


# --- the CPU and memory split ------------------------------------------------------------------------------

def test_one_generator_keeps_the_class_limits():
    (only,) = generators.plan(stack_config.Limits(1.0, "1g"), 1)
    assert (only.nano_cpus, only.memory_bytes, only.segment) == (1_000_000_000, 1024 ** 3, "1/1")


@pytest.mark.parametrize("count", [2, 3, 4, 7])
def test_n_generators_share_one_generator_budget_exactly(count):
    limits = stack_config.Limits(1.0, "1g")
    plans = generators.plan(limits, count)
    assert [g.segment for g in plans] == [f"{k}/{count}" for k in range(1, count + 1)]
    assert sum(g.nano_cpus for g in plans) == limits.nano_cpus
    assert sum(g.memory_bytes for g in plans) == limits.memory_bytes  # 1 GiB is a whole number of pages
    for g in plans:
        assert abs(g.nano_cpus - limits.nano_cpus / count) < 1
        assert g.memory_bytes % generators.PAGE_BYTES == 0
        assert abs(g.memory_bytes - limits.memory_bytes / count) <= generators.PAGE_BYTES
        # The limits Docker is given and read back (verify_limits) are exactly these.
        assert (g.limits.nano_cpus, g.limits.memory_bytes) == (g.nano_cpus, g.memory_bytes)
    assert [g.cpus for g in generators.plan(limits, 4)] == [0.25] * 4


def test_a_split_below_what_docker_accepts_is_refused():
    with pytest.raises(generators.GeneratorError, match="below Docker's minimum"):
        generators.plan(stack_config.Limits(0.5, "1g"), 64)
    with pytest.raises(generators.GeneratorError, match="between 1 and 64"):
        generators.plan(stack_config.Limits(1.0, "1g"), 65)


def test_smoke_cannot_be_split_by_time():
    with pytest.raises(generators.GeneratorError, match="smoke ends by count"):
        generators.check_mode(2, 5, "smoke")
    generators.check_mode(1, 5, "smoke")
    generators.check_mode(4, None, "full")


# --- per-generator figures ---------------------------------------------------------------------------------

def constant(container: str, cores: float) -> list[sampler.Sample]:
    return [sampler.Sample("loadgen", at(i), int(i * cores * 1e9), cores * 100, 20_000_000, container)
            for i in range(11)]


def test_saturation_is_judged_per_generator_against_its_own_limit():
    plans = generators.plan(stack_config.Limits(1.0, "1g"), 2)  # 0.5 CPU each
    runs = [(plans[0], "gen-1"), (plans[1], "gen-2")]
    samples = constant("gen-1", 0.2) + constant("gen-2", 0.45)  # 40 % and 90 % of their own limits
    phase = {"name": "200rps", "start": iso(at(2)), "end": iso(at(8)), "requests": 1200, "throughput": 200.0,
             "latencyMs": {}, "thresholds": {}}
    # Generator 1's own window ends a second early (its own drain; the merged window ends with the last one's).
    summary = {"generators": [{"segment": "1/2", "phases": [{"name": "200rps", "requests": 600, "throughput": 99.9,
                                                             "start": iso(at(2)), "end": iso(at(7))}]},
                              {"segment": "2/2", "phases": [{"name": "200rps", "requests": 600, "throughput": 100.1}]}]}
    # Together 65 % of the whole budget: the old, summed judgement says not saturated.
    figured = run.phase_figures(phase, samples, {"loadgen": 1.0})
    assert figured["generatorSaturated"] is False
    assert figured["resources"]["loadgen"]["cpuSeconds"] == pytest.approx(0.65 * 6)
    per = generators.figures(figured, summary, samples, runs)
    assert per["generatorSaturated"] is True
    first, second = per["generators"]
    assert first["segment"] == "1/2" and first["container"] == "gen-1" and first["requests"] == 600
    assert first["cpuSeconds"] == pytest.approx(1.0) and first["cpuPercentAvg"] == pytest.approx(20.0)
    assert first["cpuLimit"] == 0.5 and first["saturated"] is False and first["throughput"] == 99.9
    assert second["cpuPercentAvg"] == pytest.approx(45.0) and second["saturated"] is True
    # The results model takes it.
    from perflab import results
    results.GeneratorUse.model_validate(second)
    # One generator: nothing added, the phase's own flag stands.
    assert generators.figures(figured, summary, samples, runs[:1]) == figured


def test_progress_of_several_generators_adds_up():
    combined = generators.combined_progress({
        2: {"phase": "200rps", "vus": 2, "inFlight": 1, "rps": 100, "errors": 1, "p95Ms": 3.0, "elapsedSeconds": 5},
        1: {"phase": "200rps", "vus": 3, "inFlight": 0, "rps": 99, "errors": 0, "p95Ms": 2.0, "elapsedSeconds": 5.1}})
    assert combined["vus"] == 5 and combined["rps"] == 199 and combined["errors"] == 1 and combined["p95Ms"] == 3.0
    assert combined["elapsedSeconds"] == 5.1 and combined["generators"] == 2


def test_raw_samples_are_concatenated_under_one_header(tmp_path):
    header = b"start_unix_ns,latency_us,phase,code,ok\n"
    parts = []
    for k in range(3):
        path = tmp_path / f"g{k}.csv.gz"
        with gzip.open(path, "wb") as handle:
            handle.write(header + b"".join(f"{k}{i},100,200rps,200,1\n".encode() for i in range(1000 + k)))
        parts.append(path)
    assert generators.concatenate_samples(parts, tmp_path / "samples.csv.gz") == 3003
    lines = gzip.open(tmp_path / "samples.csv.gz", "rb").read().splitlines(keepends=True)
    assert lines[0] == header and len(lines) == 3004 and header not in lines[1:]
    assert not any(p.exists() for p in parts)


# --- Runner._run_loadgen with the real generator, without Docker ----------------------------------------------

class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 — http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        with Api.lock:
            Api.requests += 1
        body = b'{"success":true,"message":"event processed"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Process:
    """A 'container': the host loadgen binary run with the container's command, /out mapped to its volume."""

    def __init__(self, name: str, command: list[str], volume: str, kwargs: dict):
        self.name, self.status = name, "running"
        self.attrs = {"HostConfig": {"NanoCpus": kwargs["nano_cpus"], "Memory": kwargs["mem_limit"]}}
        self.command = command
        self.labels = kwargs["labels"]
        self.stderr_path = pathlib.Path(volume) / ".stderr"
        args = [a.replace("/out", volume) for a in command]
        self.proc = subprocess.Popen([shapes.binary_path(), *args], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_path.open("wb"))

    def reload(self):
        self.status = "running" if self.proc.poll() is None else "exited"

    def logs(self, stream=False, follow=False, stdout=True, stderr=True):
        if not stream:
            return self.stderr_path.read_bytes()

        def lines():
            with self.stderr_path.open("rb") as handle:
                while True:
                    line = handle.readline()
                    if line:
                        yield line
                    elif self.proc.poll() is not None:
                        yield from handle.readlines()
                        return
                    else:
                        threading.Event().wait(0.05)
        return lines()

    def wait(self, timeout=None):
        return {"StatusCode": self.proc.wait(timeout)}

    def kill(self, signal="SIGKILL"):
        self.proc.send_signal(2 if signal == "SIGINT" else 9)

    def remove(self, force=False):
        self.removed = True


class FakeDocker:
    def __init__(self, broken: str = "") -> None:
        self.started: list[Process] = []
        self.containers = self
        self.broken = broken  # the container whose command gets an option loadgen refuses

    def run(self, image, command, name, volumes, **kwargs):
        (volume,) = volumes
        if self.broken and name.endswith(self.broken):
            command = [*command, "--bogus"]
        self.started.append(Process(name, command, volume, kwargs))
        return self.started[-1]


class FakeSampling:
    def __init__(self) -> None:
        self.followed: list[tuple[str, str]] = []

    def add(self, role, name):
        self.followed.append((role, name))


class Config:
    def limits(self, resource_class):
        return stack_config.Limits(1.0, "1g")


@pytest.fixture
def api():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Api.requests = 0
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("count", [1, 3])
def test_run_loadgen_splits_one_run_between_generators_and_merges_it(api, tmp_path, monkeypatch, count) -> None:
    monkeypatch.setattr(generators, "START_LEAD_SECONDS", 1.0)
    monkeypatch.setattr(generators, "START_LEAD_PER_GENERATOR", 0.3)
    # full at 1/200 of its length: holds 0.6, 0.6, 0.6, 1.5 s at 40 arrivals/s (24, 24, 24, 60 requests).
    opts = options(phase_scale=0.005, rate=40.0, warmup_seconds=0.25, generators=count, results_dir=tmp_path)
    client = FakeDocker()
    runner = run.Runner(opts, {"apis": {"go-rest": {"endpoint": api}}}, Config(), client=client,  # type: ignore[arg-type]
                        log=lambda line: None)
    runner.loadgen_image = "loadgen-image"
    progress: list[dict] = []
    runner.on_progress = progress.append
    runner.container_prefix = "test-loadgen"
    work = tmp_path / "go-rest-default-1"
    work.mkdir()
    sampling = FakeSampling()
    summary = runner._run_loadgen(GO_REST, "default", work, sampling)  # type: ignore[arg-type]

    started = client.started
    assert len(started) == count
    assert sampling.followed == [("loadgen", c.name) for c in started]
    if count == 1:
        (only,) = started
        assert only.name == f"test-loadgen-{runner.run_id}"
        assert "--segment" not in only.command and "--start-at" not in only.command
        assert only.attrs["HostConfig"] == {"NanoCpus": 1_000_000_000, "Memory": 1024 ** 3}
        assert summary["segment"] == "1/1" and "generators" not in summary
    else:
        assert [c.name for c in started] == [f"test-loadgen-{runner.run_id}-{k}" for k in (1, 2, 3)]
        assert [c.command[c.command.index("--segment") + 1] for c in started] == ["1/3", "2/3", "3/3"]
        assert len({c.command[c.command.index("--start-at") + 1] for c in started}) == 1
        assert [c.labels["perflab.segment"] for c in started] == ["1/3", "2/3", "3/3"]
        assert sum(c.attrs["HostConfig"]["NanoCpus"] for c in started) == 1_000_000_000
        assert sum(c.attrs["HostConfig"]["Memory"] for c in started) == 1024 ** 3
        # Each wrote into its own directory; the merge is the one summary.json the runner reads.
        for k in (1, 2, 3):
            own = json.loads((work / f"generator-{k}" / "summary.json").read_text())
            assert own["segment"] == f"{k}/3"
            assert not (work / f"generator-{k}" / "samples.csv.gz").exists()  # concatenated, then removed
        assert summary["segment"] == "1/1" and [g["segment"] for g in summary["generators"]] == ["1/3", "2/3", "3/3"]
        assert len({p["start"] for g in summary["generators"] for p in g["phases"] if p["name"] == "40rps"}) == 1
        assert runner.generator_runs[2][0].segment == "3/3"
    assert json.loads((work / "summary.json").read_text()) == summary
    assert [p["requests"] for p in summary["phases"]] == [24, 24, 24, 60]  # the plan, exactly
    assert [p["rate"] for p in summary["phases"]] == [40, 40, 40, 40]
    assert summary["warmup"]["requests"] == 10
    assert summary["totals"]["requests"] == Api.requests == 10 + 24 * 3 + 60
    with gzip.open(work / "samples.csv.gz", "rt") as handle:
        rows = handle.read().splitlines()
    assert rows[0] == "start_unix_ns,latency_us,phase,code,ok" and len(rows) - 1 == summary["totals"]["requests"]
    assert progress and runner.loadgen_containers == []
    assert runner.loadgen_version and runner.loadgen_version.startswith("perflab-loadgen")


def test_one_generator_failing_stops_the_others_and_fails_the_measurement(api, tmp_path, monkeypatch):
    monkeypatch.setattr(generators, "START_LEAD_SECONDS", 5.0)  # the others are still waiting for the start
    opts = options(phase_scale=0.005, rate=40.0, warmup_seconds=0.25, generators=3, results_dir=tmp_path)
    client = FakeDocker(broken="-2")
    runner = run.Runner(opts, {"apis": {"go-rest": {"endpoint": api}}}, Config(), client=client,  # type: ignore[arg-type]
                        log=lambda line: None)
    runner.loadgen_image = "loadgen-image"
    work = tmp_path / "go-rest-default-1"
    work.mkdir()
    with pytest.raises(run.RunError) as raised:
        runner._run_loadgen(GO_REST, "default", work, FakeSampling())  # type: ignore[arg-type]
    # The cause, not the generators this runner stopped because of it (they exit 130, interrupted).
    assert str(raised.value).startswith("load generator 2/3 exited 2: ")
    assert "flag provided but not defined: -bogus" in str(raised.value)
    # The others were interrupted: 130 once loadgen handles SIGINT, -2 when it arrives before the handler is set.
    codes = [c.proc.returncode for c in client.started]
    assert codes[1] == 2 and codes[0] in (130, -2) and codes[2] in (130, -2), codes
    assert all(getattr(c, "removed", False) for c in client.started) and runner.loadgen_containers == []
    assert Api.requests == 0 and not (work / "summary.json").exists()


def test_the_command_line_documents_generators_and_refuses_them_for_smoke():
    from click.testing import CliRunner

    from runner.cli import main

    help_text = " ".join(CliRunner().invoke(main, ["run", "--help"]).output.split())
    assert "--generators" in help_text and "one agreed start" in help_text and "CPUs/N, memory/N" in help_text
    refused = CliRunner().invoke(main, ["run", "smoke", "--stack", "local", "--generators", "2"])
    assert refused.exit_code == 2 and "smoke ends by count" in refused.output
