"""Remember that a folder's files were hashed and matched, so the next process need not.

Hashing the bundled model (90 MB) costs 0.15-0.35 s, a quarter of a cold `qa ask`. After a
full check passes, a stamp in the user's cache records each file's size, mtime, ctime and
inode, with a digest of the pins checked against. A later process whose files still have
exactly that status skips the hashing. Any write to a file changes its ctime, which no
user-level tool can set back, so a damaged or replaced file is hashed again (and refused);
new pins invalidate the stamp. This is the issue's "sizes and mtimes on open, full hashes
when something changed", applied to the model. A stamp that cannot be read or written is
ignored: the check then simply hashes every time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def _stamp_file() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "qa" / "verified-files.json"


def status(folder: str, pinned: dict[str, str]) -> dict:
    """What a stamp records: the folder, a digest of the pins, each file's status.
    Raises OSError when a file is missing."""
    files = {}
    for name in sorted(pinned):
        st = os.stat(os.path.join(folder, name))
        files[name] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
    pins = hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest()
    return {"folder": os.path.realpath(folder), "pins": pins, "files": files}


def is_stamped(current: dict) -> bool:
    """True when `current` (a `status`) is exactly the one last recorded as verified."""
    try:
        return json.loads(_stamp_file().read_text(encoding="utf-8")) == current
    except (OSError, ValueError):
        return False


def stamp(before: dict, folder: str, pinned: dict[str, str]) -> None:
    """Record `before`, the status taken before the files were hashed and matched, unless
    a file changed while it was being hashed."""
    target = _stamp_file()
    try:
        if status(folder, pinned) != before:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, suffix=".tmp") as f:
            json.dump(before, f)
        os.replace(f.name, target)  # atomic: a reader sees the old stamp or the new one
    except OSError as exc:
        log.debug("cannot record the verified model files in %s: %s", target, exc)
