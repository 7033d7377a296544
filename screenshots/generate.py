"""Regenerate the README screenshots from the bundled demo: `python screenshots/generate.py`.

Each view is driven with Textual's Pilot (the same way the tests drive the app) and saved as SVG, so the pictures
always show the current UI. The demo's clock is fixed so the images only change when the UI does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ["TZ"] = "UTC"
time.tzset()

from orchtui.demo import demo_spans  # noqa: E402
from orchtui.live import TraceIndex  # noqa: E402
from tui.app import OrchApp  # noqa: E402

START_NS = 1_764_000_000_000_000_000
SIZE = (140, 40)

# name -> (keys to press, detail tab to show)
VIEWS = {
    "main": ((), None),
    "loop": (("j", "j", "j", "enter", "n"), "findings"),
    "chat": (("j", "j", "j", "j", "j", "enter", "j", "j"), "messages"),
    "events": (("j", "j", "j", "j", "enter", "j", "j"), "events"),
    "help": (("question_mark",), None),
    "routes": (("r", "j", "j", "j", "j"), None),  # the refund family's expensive fallback branch selected
    "compare": (("j", "j", "j", "j", "j", "j", "m", "g", "d"), None),  # the run that found the policy vs one that skipped it
}


async def capture(name: str, keys: tuple[str, ...], tab: str | None, out: Path) -> Path:
    index = TraceIndex()
    index.add(demo_spans(start_ns=START_NS))
    with tempfile.TemporaryDirectory() as tmp:
        app = OrchApp(index, save_dir=tmp, sources_label="demo")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press(*keys)
            await app.workers.wait_for_complete()  # routes and comparisons are computed in workers
            await pilot.pause()
            if tab is not None:
                app.query_one("TabbedContent").active = tab
            await pilot.pause()
            await pilot.wait_for_scheduled_animations()  # the tab's underline slides over: caught mid-way otherwise
            path = out / f"{name}.svg"
            path.write_text(app.export_screenshot(title=f"orchtui — {name}"))
    return path


async def main() -> None:
    for name, (keys, tab) in VIEWS.items():
        print(await capture(name, keys, tab, HERE))


if __name__ == "__main__":
    asyncio.run(main())
