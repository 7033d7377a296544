"""Shared test fixtures: paths to the real trace files copied into tests/data, and a span builder."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# Caches the code under test writes (price rates, judge verdicts) go to a directory of this run, never the user's;
# subprocesses of the tests inherit it.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="orchtui-test-cache-")


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _collector_callbacks_restored():
    """`orchtui open`, `tail` and `demo` install a collector callback for their process (orchtui/bulk.py); a test
    that runs them in this one must not leave it to freeze the heap of every later test."""
    callbacks = list(gc.callbacks)
    yield
    gc.callbacks[:] = callbacks
