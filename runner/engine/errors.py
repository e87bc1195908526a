from perflab.errors import LabError


class EngineError(LabError):
    """Something the in-process engine cannot do, or Docker refused; the message says which input/object."""
