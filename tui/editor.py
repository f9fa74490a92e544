"""The command that opens a file in the user's editor at a line (`+LINE` convention)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path


def editor_command(path: Path, line: int, environ: Mapping[str, str]) -> list[str]:
    """`$VISUAL` or `$EDITOR` (default `vi`), then `+LINE` and the path."""
    editor = environ.get("VISUAL") or environ.get("EDITOR") or "vi"
    return [*shlex.split(editor), f"+{line}", str(path)]
