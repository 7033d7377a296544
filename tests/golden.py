"""Golden `check --json` documents of every fixture trace: what reading a trace right means today, pinned.

Work that changes how spans are read or held (issue 14's lazy payloads, faster decoding) must not change what
any report says; tests/orchtui/test_check_golden.py compares each fixture's document with its golden file here.
Costs computed from genai-prices are reduced to "priced" (the price table is a dependency that updates on its
own; tests/orchtui/test_cost.py checks the pricing itself).

    python -m tests.golden --update    # after a deliberate change: rewrite the goldens, then review the diff
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden"
FOLDERS = ("frameworks", "langgraph", "langsmith", "openai-agents", "openinference", "otlp", "vercel")


def fixtures() -> list[Path]:
    """Every trace file of the fixture folders, relative to the repository root."""
    files = []
    for folder in FOLDERS:
        for path in sorted((DATA / folder).rglob("*")):
            if path.is_file() and path.suffix != ".md" and not path.name.endswith(".truth.json"):
                files.append(path.relative_to(ROOT))
    return files


def golden_path(fixture: Path) -> Path:
    return GOLDEN / f"{fixture.relative_to('tests/data')}.check.json"


def check_document_of(fixture: Path) -> dict[str, Any]:
    """The document `orchtui check --json FIXTURE` prints, read from the repository root, costs reduced."""
    from orchtui.analysing_sink import AnalysingSink
    from orchtui.loading import load_paths
    from orchtui.report import check_document
    from orchtui.store import SpanStore

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        store = SpanStore()
        sink = AnalysingSink(store)  # as `check` loads: payloads evicted, read back by the report if it asks
        load_paths([str(fixture)], sink)
        return _without_prices(check_document(sink.analyses(), store.errors))
    finally:
        os.chdir(cwd)


def _without_prices(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("priced" if k == "cost_usd" and v is not None else _without_prices(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_prices(v) for v in value]
    return value


def render(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite every golden file from the current code")
    args = parser.parse_args()
    changed = 0
    for fixture in fixtures():
        target = golden_path(fixture)
        rendered = render(check_document_of(fixture))
        if target.exists() and target.read_bytes() == rendered:
            continue
        changed += 1
        print(f"{'rewrote' if args.update else 'differs'}: {target.relative_to(ROOT)}")
        if args.update:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rendered)
    print(f"{changed} of {len(fixtures())} goldens {'rewritten' if args.update else 'differ'}")


if __name__ == "__main__":
    main()
