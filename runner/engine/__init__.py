"""The in-process engine: `bench up` without the Pulumi CLI (see core.py for how it works).

Supported subset — anything else is an EngineError naming it, never silently ignored:

- resource types: the lab's own ComponentResources (`perflab:*`), and from pulumi_docker
  `Image` (imageName, skipPush=True, build{context, dockerfile, builderVersion=BuilderV1, args, target,
  network}; the local image is kept on delete, as pulumi_docker does), `Network` (name, driver, labels,
  internal, attachable), `Volume` (name, driver, driverOpts, labels) and `Container` (name, image, envs,
  command, entrypoints, cpus, memory, memorySwap, labels, healthcheck{tests, interval, timeout, retries,
  startPeriod}, wait, waitTimeout, mustRun, restart, networkMode, networksAdvanced (one, name+aliases),
  ports, volumes, workingDir, user, removeVolumes, destroyGraceSeconds);
- resource options: parent and depends_on (ordering); replacement is always delete-before-replace;
  protect, ignore_changes, replace_on_changes, retain_on_delete, import, aliases, custom timeouts,
  additional secret outputs, deleted_with are refused;
- no provider resources, no invokes or `get` reads, no previews, no encrypted (`secure:`) config values.
"""
from runner.engine.core import down, recorded_outputs, recorded_resources, up
from runner.engine.errors import EngineError

__all__ = ["EngineError", "down", "recorded_outputs", "recorded_resources", "up"]
