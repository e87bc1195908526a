class EngineError(Exception):
    """Something the in-process engine cannot or must not do; the message says what and why."""
