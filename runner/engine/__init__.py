"""The in-process engine: `bench up` without the Pulumi CLI. Its semantics and supported subset are written
in one place, docs/engine.md; anything outside the subset is an EngineError naming it, never ignored."""
from runner.engine.core import down, recorded_outputs, recorded_resources, up
from runner.engine.errors import EngineError

__all__ = ["EngineError", "down", "recorded_outputs", "recorded_resources", "up"]
