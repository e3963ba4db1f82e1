"""Errors that end a run with one line (tools/train.py) instead of a traceback."""


class TrainingAborted(RuntimeError):
    """Training stopped on purpose; the message names what and where."""
