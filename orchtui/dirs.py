"""Where orchtui keeps files of its own, by the XDG base directory spec: caches (safe to delete, rebuilt on
demand) and state (spools of received spans, which are data)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/orchtui` (default `~/.cache/orchtui`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "orchtui"


def state_dir() -> Path:
    """`$XDG_STATE_HOME/orchtui` (default `~/.local/state/orchtui`)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "orchtui"
