"""One error base class for everything a user can act on (configuration, builds, Docker, the stack, a run).

Every command maps a `LabError` the same way: the message on stderr prefixed by `Error: `, exit status
`EXIT_USER_ERROR` (2, like Click's own usage errors). Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

EXIT_USER_ERROR = 2


class LabError(Exception):
    """A problem the user can fix; its message says what to do."""


class ConfigError(LabError):
    """A stack's configuration (`Pulumi.<stack>.yaml`, `pulumi config`) is missing or wrong."""
