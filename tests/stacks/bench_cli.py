"""`bench` as the stack tests call it: the in-process engine (no Pulumi CLI) and the stack's own metrics
database."""
from __future__ import annotations

import os
import subprocess
import sys

from perflab.catalogue import ROOT


def bench(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Runs `bench ARGS…` and prints what it said (pytest shows it when a test fails)."""
    env = {**os.environ, "PERFLAB_ENGINE": "in-process"}
    env.pop("PERFLAB_METRICS_DSN", None)  # `bench db load` and the runs must use the stack's own database
    result = subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    print(f"$ bench {' '.join(args)}\n{result.stdout}{result.stderr}")
    return result
