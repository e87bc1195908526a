"""The in-process engine: `bench up` without the Pulumi CLI (see core.py for how it works).

Supported subset (semantics: docs/engine.md) — anything else is an EngineError naming it, never silently ignored:

- resource types: the lab's own ComponentResources (`perflab:*`), and from pulumi_docker
  `RemoteImage` (name, keepLocally=True: an image `bench build` made, found locally, never pulled or
  deleted), `Network` (name, driver, labels,
  internal, attachable), `Volume` (name, driver, driverOpts, labels) and `Container` (name, image, envs,
  command, entrypoints, cpus, memory, memorySwap, labels, healthcheck{tests, interval, timeout, retries,
  startPeriod}, wait, waitTimeout, mustRun, restart, networkMode, networksAdvanced (one, name+aliases),
  ports, volumes, workingDir, user, removeVolumes, destroyGraceSeconds);
- resource options: parent, depends_on and the dependencies of inputs (recorded: deletion runs in
  reverse dependency order), delete_before_replace (else create-before-delete, as Pulumi); protect, ignore_changes, replace_on_changes, retain_on_delete, import, aliases, custom timeouts,
  additional secret outputs, deleted_with are refused;
- no provider resources, no invokes or `get` reads, no previews, no encrypted (`secure:`) config values.
"""
from runner.engine.core import down, recorded_outputs, recorded_resources, up
from runner.engine.errors import EngineError

__all__ = ["EngineError", "down", "recorded_outputs", "recorded_resources", "up"]
