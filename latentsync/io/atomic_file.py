"""Files written whole or not at all, with the permissions of any new file.

The content goes to a hidden ``.<stem>.partial-XXXX<suffix>`` beside the target (same filesystem, so the
final ``os.replace`` is atomic); a failure deletes it and leaves the target as it was. ``tempfile.mkstemp``
would create it 0o600 and the rename keeps that mode, so outputs would be private to their writer; created
like any new file (0o666 less the umask) they are readable by the other nodes of a shared storage.
A tool that writes into a folder of its own gets a hidden staging folder beside the target instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

PARTIAL_MARKER = ".partial-"


def create_partial_file(target: str | os.PathLike) -> Path:
    """Create the empty hidden partial file of ``target`` (mode 0o666 less the umask) and return its path."""
    target = Path(target)
    partial = target.absolute().parent / f".{target.stem}{PARTIAL_MARKER}{secrets.token_hex(6)}{target.suffix}"
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return partial


def commit_partial(finished: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename a finished partial file (or a file of a staging folder) onto ``target``, atomically: both lie
    in the target's folder, on its filesystem."""
    os.replace(finished, target)


@contextlib.contextmanager
def replaced_atomically(target: str | os.PathLike) -> Iterator[Path]:
    """A partial path to write; renamed onto ``target`` when the block succeeds, deleted when it fails."""
    partial = create_partial_file(target)
    try:
        yield partial
        commit_partial(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staging_folder(target: str | os.PathLike) -> Iterator[Path]:
    """A hidden folder beside ``target`` for a tool that writes into a folder of its own (e.g. a hub download);
    ``commit_partial`` moves its finished file onto ``target``; the folder goes whatever happens."""
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix=f".{target.stem}{PARTIAL_MARKER}", dir=target.absolute().parent) as folder:
        yield Path(folder)
