"""Atomic, locked writes of an index folder.

An index folder holds immutable generations (`gen-<time>-<pid>-<n>/`) and a `CURRENT`
file naming the live one together with the sha256 of its manifest. A build writes a new
generation beside the old, then replaces `CURRENT` with `os.replace` (atomic on POSIX): a
crash or Ctrl-C at any point leaves the previous index readable. An exclusive `flock` on
`.lock` keeps two writers apart; readers take no lock at all (a reader whose generation is
removed under it reloads the new one, see qa/index/loaded_index.py).

`CURRENT` is read defensively: only a name of the generation form, of a real folder
directly inside the index folder, is followed, and the manifest it names must hash to the
recorded value, so an edited manifest (say, its `sources_dir`) is refused rather than
trusted. Anything else is an error, reported before a build deletes anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.errors import IndexCorruptError, IndexIncompatibleError, IndexLockedError
from qa.index.manifest import MANIFEST, REBUILD_HINT, sha256_file

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LOCK = ".lock"
PREFIX = "gen-"
# Names this module writes: gen-<UTC time>-<pid>-<6 digits>. Nothing else is followed: no
# separators, no dots, so `CURRENT` can never lead out of the index folder.
GENERATION_NAME = re.compile(r"gen-[0-9]{8}T[0-9]{6}-[0-9]+-[0-9]{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CURRENT_MAX_BYTES = 512  # a real CURRENT is ~100 bytes; more is not one
LOCK_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Current:
    """What `CURRENT` says: the live generation folder and the sha256 of its manifest."""

    path: Path
    manifest_sha256: str


def read_current(index_dir: Path) -> Current | None:
    """The live generation, None when the index has never been built (no `CURRENT`).

    Raises IndexCorruptError when `CURRENT` is unreadable, not of the form this module
    writes, or names a folder that is missing or outside the index folder, and
    IndexIncompatibleError for the single-name `CURRENT` of an older qa.
    """
    index_dir = Path(index_dir)
    path = index_dir / CURRENT
    try:
        with open(path, "rb") as f:
            raw = f.read(_CURRENT_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a directory, no permission, an I/O error
        raise IndexCorruptError(f"{path} cannot be read ({exc.strerror or exc}): {REBUILD_HINT}") from exc
    try:
        fields = raw.decode("utf-8").split()
    except UnicodeDecodeError:
        fields = []
    if len(raw) > _CURRENT_MAX_BYTES or not fields or not GENERATION_NAME.fullmatch(fields[0]):
        raise IndexCorruptError(f"{path} does not name a generation of the index: {REBUILD_HINT}")
    if len(fields) == 1:
        raise IndexIncompatibleError(
            f"the index {index_dir} was written by an older qa (no manifest hash in {CURRENT}): {REBUILD_HINT}"
        )
    if len(fields) != 2 or not _SHA256.fullmatch(fields[1]):
        raise IndexCorruptError(f"{path} is damaged (expected a generation name and a sha256): {REBUILD_HINT}")
    generation = index_dir / fields[0]
    if generation.is_symlink() or not generation.is_dir():
        raise IndexCorruptError(
            f"{path} names {fields[0]}, which is not a folder of the index: {REBUILD_HINT}"
        )
    return Current(generation, fields[1])


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, None when the index has never been built."""
    current = read_current(index_dir)
    return current.path if current else None


@contextlib.contextmanager
def writer_lock(
    index_dir: Path, *, wait: float = 0.0, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index's writer lock; wait up to `wait` seconds for another writer.

    `on_wait(message)` is called once, when waiting starts, so a UI can say why it pauses.
    Raises IndexLockedError when the other writer still holds the lock after `wait`.
    When the block leaves no generation behind (a first build that failed), the lock file
    is removed, and the folder too if this created it: a failed `qa index` leaves nothing.
    """
    deadline = time.monotonic() + wait
    told: list[bool] = []  # on_wait is called once, however long or often we wait

    def waiting() -> None:
        if not told and on_wait:
            on_wait(f"waiting for another qa process writing the index {index_dir} (up to {wait:g} s)")
        told.append(True)

    while True:
        created = not index_dir.exists()
        handle = _acquire(index_dir, deadline, wait, waiting)
        if _still_linked(handle, index_dir / LOCK):
            break
        # The writer we waited for failed a first build and removed the lock file and the
        # folder after we opened it: our lock is on a file nobody else sees. Start again.
        handle.close()
    with handle:
        try:
            yield
        finally:
            if current_generation(index_dir) is None:
                _remove_traces(index_dir, created)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(index_dir: Path, deadline: float, wait: float, waiting: Callable[[], object]):
    """An open lock file of `index_dir` holding an exclusive flock, or IndexLockedError."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK
    try:
        handle = open(path, "a+")
    except OSError as exc:  # `.lock` is a folder, or not writable
        raise IndexCorruptError(
            f"the lock file {path} cannot be opened ({exc.strerror or exc}): remove it if it is not a file"
        ) from exc
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise
        if time.monotonic() >= deadline:
            handle.close()
            waited = f"waited {wait:g} s" if wait else "did not wait"
            raise IndexLockedError(
                f"another qa process is writing the index {index_dir} ({waited}): "
                "wait for it to finish, then try again"
            ) from None
        waiting()
        time.sleep(LOCK_POLL_SECONDS)


def _still_linked(handle, path: Path) -> bool:
    """Whether the locked file is still the one at `path` (not unlinked meanwhile)."""
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


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

    The block must write the generation's manifest; its hash goes into `CURRENT`. On any
    exception (KeyboardInterrupt included) the folder is removed and `CURRENT` still names
    the previous generation. Call with the writer lock held.
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
        tmp.write_text(f"{path.name} {sha256_file(path / MANIFEST)}\n", encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, index_dir / CURRENT)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    remove_stale(index_dir, path)


def remove_stale(index_dir: Path, live: Path | None) -> list[str]:
    """Delete generations other than `live` (left by older builds or by a kill between the
    swap of `CURRENT` and this cleaning) and a half-written `CURRENT.tmp`.

    Call with the writer lock held, only once `CURRENT` has been read successfully: a
    garbage `CURRENT` must be reported, not answered by deleting the folders it lost.
    A reader still loading a removed generation reloads the live one.
    """
    removed = []
    for child in index_dir.iterdir():
        if child.name.startswith(PREFIX) and child != live and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    (index_dir / f"{CURRENT}.tmp").unlink(missing_ok=True)
    if removed:
        log.info("removed old generations of %s: %s", index_dir, ", ".join(removed))
    return removed
