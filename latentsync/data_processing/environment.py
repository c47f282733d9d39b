"""Failures of the machine, not of the clip: they stop the run and are never recorded as a clip's rejection.

Unreadable weights, a missing package or a full (or read-only) disk would fail every clip the same way; a
ledger full of rejections would then hide the cause and, being final, keep those clips out of every later
run. Such a failure is raised as ``EnvironmentProblem`` (one line with the fix) and the next run continues
where this one stopped (finished clips are kept).
"""

from __future__ import annotations

import errno

from latentsync.errors import CheckpointError, EnvironmentProblem

# No space, over quota, read-only filesystem: the output storage, whatever the clip.
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def environment_problem(error: BaseException, where: str) -> EnvironmentProblem | None:
    """``error`` as an ``EnvironmentProblem`` when the machine caused it (``where`` says what was running),
    ``None`` when it may be the clip's own."""
    reason = " ".join(str(error).split())
    if isinstance(error, CheckpointError):
        return EnvironmentProblem(f"{where}: {reason}")
    if isinstance(error, ImportError):
        return EnvironmentProblem(f"{where}: a package is missing ({reason}); install the environment with "
                                  "./setup_env.sh, then run again")
    if isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS:
        target = f" ({error.filename})" if error.filename else ""
        return EnvironmentProblem(f"{where}: {error.strerror or reason}{target}; free space or make the output "
                                  "storage writable, then run again")
    return None
