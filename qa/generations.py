"""Atomic, locked writes of an index folder.

An index folder holds immutable generations (`gen-<time>-<pid>/`) and a `CURRENT` file
naming the live one. A build writes a new generation beside the old, then replaces
`CURRENT` with `os.replace` (atomic on POSIX): a crash or Ctrl-C at any point leaves the
previous index readable. An exclusive `flock` on `.lock` keeps two writers apart.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from qa.errors import IndexLockedError

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
PREFIX = "gen-"


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when the index has never been built."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = index_dir / name
    return path if name.startswith(PREFIX) and path.is_dir() else None


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock (creating the folder if needed) for the block.

    When the block leaves no generation behind (a first build that failed), the lock file
    is removed, and the folder too if this created it: a failed `qa index` leaves nothing.
    """
    created = not index_dir.exists()
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexLockedError(
                    f"another qa process is writing the index {index_dir}: wait for it to "
                    "finish, then try again"
                ) from exc
            raise
        try:
            yield
        finally:
            if current_generation(index_dir) is None:
                _remove_traces(index_dir, created)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_traces(index_dir: Path, created: bool) -> None:
    """The lock file of an index that was never built, and its folder if we made it."""
    with contextlib.suppress(OSError):
        (index_dir / LOCK).unlink()
        if created:
            index_dir.rmdir()  # only when empty: nothing of anyone else's is removed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def new_generation(index_dir: Path) -> Iterator[Path]:
    """A fresh folder to write into; published only if the block finishes.

    On any exception (KeyboardInterrupt included) the folder is removed and `CURRENT`
    still names the previous generation. Call with the writer lock held.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = index_dir / f"{PREFIX}{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    path.mkdir(parents=True)
    try:
        yield path
        for child in path.rglob("*"):
            if child.is_file():
                with open(child, "rb") as f:
                    os.fsync(f.fileno())
        _fsync_dir(path)
        tmp = index_dir / f"{CURRENT}.tmp"
        tmp.write_text(path.name + "\n", encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, index_dir / CURRENT)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    remove_stale(index_dir)


def remove_stale(index_dir: Path) -> None:
    """Delete generations other than the live one (left by older builds or crashes)."""
    live = current_generation(index_dir)
    for child in index_dir.iterdir():
        if child.name.startswith(PREFIX) and child.is_dir() and child != live:
            shutil.rmtree(child, ignore_errors=True)
