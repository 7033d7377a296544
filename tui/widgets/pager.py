"""`o`: the full text of a value in the user's pager, the app suspended meanwhile (as lazygit does with $EDITOR).

The text goes to a private temporary file, removed afterwards, rather than through a pipe, so `$PAGER` may be an
editor too (`PAGER=vim`). `$PAGER` is split like a shell word list (`less -R` works); without it, `less`. Trace text
can carry terminal escapes: the file holds the text as `printable` shows it, so a pager that passes raw bytes
through (`less -r`, `cat`) still cannot be made to act on them.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile

from orchtui.textsafe import printable


def pager_command() -> list[str]:
    """$PAGER as an argument list, else `less`; a $PAGER that does not split (an open quote) falls back too."""
    try:
        words = shlex.split(os.environ.get("PAGER", ""))
    except ValueError:
        words = []
    return words or ["less"]


def page_text(text: str, name: str) -> str | None:
    """Run the pager on `text` and wait for it; returns an error to show, or None. The caller suspends the app."""
    handle, path = tempfile.mkstemp(prefix="orchtui-", suffix=f"-{_file_part(name)}.txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(printable(text))
        command = pager_command()
        try:
            result = subprocess.run([*command, path], check=False)
        except OSError as exc:
            return f"Cannot run {command[0]}: {exc.strerror or exc}"
        return None if result.returncode == 0 else f"{command[0]} exited with status {result.returncode}"
    finally:
        os.unlink(path)


def _file_part(name: str) -> str:
    """`attribute llm.model_name` → `attribute-llm.model_name`: a hint in the pager's title, safe as a file name."""
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[:40]
