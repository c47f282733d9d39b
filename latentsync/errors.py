"""User-facing errors: one line that names the file and says what to do."""


class InputError(ValueError):
    """A user-supplied file or option is unusable (missing, wrong type, empty, would be overwritten)."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing or does not match the model it is loaded into."""
