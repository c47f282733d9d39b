"""User-facing errors: one line that names the file (or the machine's problem) and says what to do.

The command-line programs print such an error as one ``error:`` line and exit 2 (``latentsync.cli.runner``).
"""


class InputError(ValueError):
    """A user-supplied file or option is unusable (missing, wrong type, empty, would be overwritten)."""


class NoFaceError(InputError):
    """No frame of a video shows a face: nothing to lip-sync (a batch skips such a pair; other bad input fails it)."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing or does not match the model it is loaded into."""


class EnvironmentProblem(RuntimeError):
    """The run cannot go on on this machine as it is (weights, packages, disk); the message names the cause and
    the fix."""


USER_ERRORS = (InputError, CheckpointError, EnvironmentProblem)
"""What a command reports in one line instead of a traceback."""
