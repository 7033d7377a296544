"""Per-token rates remembered across runs, so a small `orchtui check` never imports genai-prices.

Importing genai-prices builds its whole price table (pydantic models, ~100-200 ms): more than everything else a
5-line `check` does. The rates derived from it (orchtui/analysis/cost.py) are small and stable, so they are kept
in `$XDG_CACHE_HOME/orchtui/prices.json`, tagged with what they were derived from: the installed genai-prices
(its data file's size and mtime, so an upgrade invalidates them) and the UTC date (its prices can start or end on
a date). A cache that is missing, stale, unreadable or unwritable only costs the import; it never changes a price.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import orjson

from ..dirs import cache_dir

FILE_NAME = "prices.json"
UNKNOWN = "unknown"  # a model genai-prices does not know (stored so it is not looked up again)


class RateCache:
    """`(model, provider) -> price bands` loaded once, written back at exit when something new was derived."""

    def __init__(self, path: Path, tag: str) -> None:
        self.path, self.tag = path, tag
        self._rates: dict[str, Any] = {}
        self._dirty = False
        try:
            document = orjson.loads(path.read_bytes())
            if isinstance(document, dict) and document.get("tag") == tag and isinstance(document.get("rates"), dict):
                self._rates = document["rates"]
        except (OSError, orjson.JSONDecodeError):
            pass

    def get(self, model: str, provider: str | None) -> list[tuple[int, tuple[float, ...]]] | str | None:
        """Cached price bands (cost.py), `"unknown"`, or None when nothing valid is cached for this model."""
        value = self._rates.get(_key(model, provider))
        if value == UNKNOWN:
            return value
        try:
            bands = [(int(start), tuple(float(rate) for rate in rates)) for start, rates in value]
        except (TypeError, ValueError):
            return None
        return bands if bands and all(len(rates) == 5 for _, rates in bands) else None

    def put(self, model: str, provider: str | None, value: list[tuple[int, tuple[float, ...]]] | str) -> None:
        if not self._dirty:
            atexit.register(self.save)
        self._rates[_key(model, provider)] = value
        self._dirty = True

    def save(self) -> None:
        """Write atomically (a concurrent run reads the old file or the new one, never half of one)."""
        if not self._dirty:
            return
        self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_bytes(orjson.dumps({"tag": self.tag, "rates": self._rates}))
            os.replace(temporary, self.path)
        except OSError:
            pass



def _key(model: str, provider: str | None) -> str:
    return f"{provider or ''}\x1f{model}"


def _source_tag() -> str:
    """What the cached rates were derived from: the genai-prices data file and today's UTC date."""
    spec = importlib.util.find_spec("genai_prices")
    origin = Path(spec.origin).parent if spec is not None and spec.origin else None
    stamp = "none"
    if origin is not None:
        try:
            stat = (origin / "data.py").stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            pass
    return f"{stamp}:{time.strftime('%Y-%m-%d', time.gmtime())}"


_cache: RateCache | None = None


def rate_cache() -> RateCache:
    """The process's cache, loaded on the first price lookup."""
    global _cache
    if _cache is None:
        _cache = RateCache(cache_dir() / FILE_NAME, _source_tag())
    return _cache
