"""UI latency benchmark: keypress to repaint with 100,000 traces listed, a 10,000-span trace expanded, and the
Routes screen open while traces stream in.

Drives the real app headless with Textual's `run_test()`. Each key event is posted to the app and timed until
the first frame that shows its move reaches the display stage (`App._display` receives the compositor's update,
and what was selected then is recorded): keypress to repaint, without Pilot's idle-detection waits. The steps and
detail panes follow the trace list's cursor a frame later; the time until every pane is repainted is printed too.
Each press waits for the previous one's frames to end. The same presses on a 10-trace app, measured in the same
run, are the baseline, so the ratio shows what the data size costs on this machine. Target: p95 under 50 ms.

The routes case moves through the Routes screen (about 200 routes over the 100k traces) while a thread adds
STREAM_PER_SECOND new traces a second to the index, as a live source would: every trace is analysed and put in
its route on that thread, and the screen recomputes its stats in a worker twice a second.

    python bench/ui.py [--traces 100000] [--big-trace 10000] [--presses 150]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats import percentile  # noqa: E402

from textual import events  # noqa: E402

from orchtui.live import TraceIndex  # noqa: E402
from parsers.span import LLM, OK, TOOL, Span, Tokens  # noqa: E402
from tui.app import OrchApp  # noqa: E402
from tui.screens.routes import RoutesScreen  # noqa: E402

START = 1_760_000_000_000_000_000
STREAM_PER_SECOND = 1000  # new traces a second while the Routes screen is measured (3,000 spans a second)
STREAM_BATCH = 50
BIG_TRACE_ID = "b" * 32
BASELINE_BIG_TRACE = 60  # spans of the baseline's big trace
TARGET_P95_MS = 50
QUIET_SECONDS = 0.05  # no frame for this long: the key's updates are done


def small_trace(number: int) -> list[Span]:
    trace_id = f"{number:032x}"
    start = START + number * 1_000_000
    root = Span(trace_id, f"{number:08x}00000001", None, f"workflow_{number % 97}", "agent", start, start + 900_000, OK)
    llm = Span(trace_id, f"{number:08x}00000002", root.span_id, "chat", LLM, start + 1000, start + 500_000, OK,
               model="gpt-4o" if number % 5 == 0 else "gpt-4o-mini", tokens=Tokens(500 + number % 300, 40, 540 + number % 300), finish_reasons=("stop",), stop_reason="stop")
    tool = Span(trace_id, f"{number:08x}00000003", root.span_id, "search", TOOL, start + 600_000, start + 800_000, OK,
                tool_name="search", tool_args={"q": number % 13})
    return [root, llm, tool]


def big_trace(spans: int) -> list[Span]:
    """One agent run of `spans` steps: turns of an LLM call and a tool call under a chain per turn."""
    trace_id = BIG_TRACE_ID
    start = START + 10**15
    root = Span(trace_id, "big-root", None, "big_run", "agent", start, start + spans * 1_000_000, OK)
    result = [root]
    turn = 0
    while len(result) < spans:
        turn += 1
        base = start + turn * 3_000_000
        chain = Span(trace_id, f"turn-{turn}", root.span_id, f"turn {turn}", "chain", base, base + 2_500_000, OK)
        llm = Span(trace_id, f"llm-{turn}", chain.span_id, "chat", LLM, base + 10, base + 1_000_000, OK,
                   model="gpt-4o", tokens=Tokens(900, 30, 930), finish_reasons=("tool_calls",), stop_reason="tool_calls")
        tool = Span(trace_id, f"tool-{turn}", chain.span_id, "fetch", TOOL, base + 1_100_000, base + 2_000_000, OK,
                    tool_name="fetch", tool_args={"page": turn})
        result += [chain, llm, tool]
    return result[:spans]


def build_index(traces: int, big: int) -> TraceIndex:
    index = TraceIndex()
    batch: list[Span] = []
    for number in range(traces):
        batch += small_trace(number)
        if len(batch) >= 30_000:
            index.add(batch)
            batch = []
    index.add(batch + big_trace(big))
    return index


@dataclass
class Cursor:
    """Where the keys move in one case: the selected item's identity, its position and the last position.

    Identity, not position, tells that a key was handled: the Routes table keeps its cursor on the same route
    while streamed traces reorder the rows, so the position can change with no key pressed."""

    selected: Callable[[], object]
    position: Callable[[], int]
    last: Callable[[], int]

    def key(self, press: int) -> str:
        """`j` for 20 presses, then `k` for 20, turning early at either end: every press must move the cursor
        (a `k` at the top changes nothing and paints no frame)."""
        down = (press // 20) % 2 == 0
        if self.position() <= 0:
            down = True
        elif self.position() >= self.last():
            down = False
        return "j" if down else "k"


async def press_and_time(app: OrchApp, frames: list[tuple[float, object]], cursor: Cursor, press: int) -> tuple[float, float]:
    """Post one key; return the seconds until the first displayed frame that shows its move (a frame painted for
    something else meanwhile, such as a streamed update, does not count), and until the last frame of the burst
    it set off (the steps and detail panes follow the list's cursor a frame later). The next key waits for that
    burst to end, so each press is timed on its own, not queued behind the previous one."""
    key = cursor.key(press)
    before = cursor.selected()
    first = len(frames)
    began = time.perf_counter()
    app.post_message(events.Key(key, key))
    deadline = began + 5
    while time.perf_counter() < deadline:
        shown = next((stamp for stamp, selected in frames[first:] if selected != before), None)
        if shown is not None:
            return shown - began, await quiet(frames, shown) - began
        await asyncio.sleep(0.0005)
    raise TimeoutError(f"no frame showing the move after pressing {key!r} (selection {before!r})")


async def quiet(frames: list[tuple[float, object]], since: float) -> float:
    """Wait until no frame has been displayed for QUIET_SECONDS; return when the last one was."""
    last = since
    while time.perf_counter() - last < QUIET_SECONDS:
        await asyncio.sleep(0.002)
        last = max(last, frames[-1][0])
    return last


async def wait_until(pilot, condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Let the app work until `condition` holds (a 10,000-step tree or 100k rows take a moment on a busy machine)."""
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {seconds:.0f}s for {what}")
        await pilot.pause(0.05)


class Stream:
    """Adds new small traces to the index from a thread at STREAM_PER_SECOND until stopped."""

    def __init__(self, index: TraceIndex, first: int) -> None:
        self.index, self.next = index, first
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(STREAM_BATCH / STREAM_PER_SECOND):
            batch = [span for number in range(self.next, self.next + STREAM_BATCH) for span in small_trace(number)]
            self.next += STREAM_BATCH
            self.index.add(batch)

    def __enter__(self) -> "Stream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


async def measure(index: TraceIndex, presses: int, big_spans: int) -> dict[str, list[tuple[float, float]]]:
    """(to the frame showing the move, to the last frame) per press, per case."""
    timings: dict[str, list[tuple[float, float]]] = {"list j/k": [], "tree j/k": [], "routes j/k, streaming": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = OrchApp(index, save_dir=tmp)
        async with app.run_test(size=(160, 50)) as pilot:
            frames: list[tuple[float, object]] = []  # (when displayed, what was selected then)
            case: list[Cursor] = []
            display = app._display

            def timed_display(screen, renderable):
                display(screen, renderable)
                if renderable is not None and case and not app._batch_count:  # inside a batch nothing is displayed
                    frames.append((time.perf_counter(), case[-1].selected()))

            app._display = timed_display  # type: ignore[method-assign]
            listing = app.trace_list
            await wait_until(pilot, lambda: app.rows_settled and len(listing.rows) == len(index), "the trace list")
            case.append(Cursor(lambda: listing.current, lambda: listing.cursor, lambda: len(listing.rows) - 1))
            for press in range(presses):
                timings["list j/k"].append(await press_and_time(app, frames, case[-1], press))

            app.jump_to_trace(BIG_TRACE_ID)
            tree = app.step_tree
            await wait_until(pilot, lambda: tree.analysis is not None and tree.analysis.trace_id == BIG_TRACE_ID, "the big trace")
            await pilot.press("enter", "right_square_bracket")  # focus the steps, expand everything
            await wait_until(pilot, lambda: tree.last_line + 1 >= big_spans, f"{big_spans:,} expanded steps")
            print(f"  step tree: {tree.last_line + 1:,} lines expanded")
            case.append(Cursor(lambda: tree.cursor_node, lambda: tree.cursor_line, lambda: tree.last_line))
            for press in range(presses):
                timings["tree j/k"].append(await press_and_time(app, frames, case[-1], press))

            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, RoutesScreen) and bool(app.screen.stats), "the Routes screen")
            table = app.screen.table
            case.append(Cursor(lambda: table.current_id, lambda: table.cursor, lambda: len(table.rows) - 1))
            with Stream(index, first=10_000_000) as stream:
                for press in range(presses):
                    timings["routes j/k, streaming"].append(await press_and_time(app, frames, case[-1], press))
            print(f"  routes: {len(app.screen.stats):,} rows; {stream.next - 10_000_000:,} traces streamed in meanwhile")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--big-trace", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=150)
    args = parser.parse_args()

    began = time.perf_counter()
    large = build_index(args.traces, args.big_trace)
    print(f"built {len(large):,} traces, {large.store.span_count:,} spans in {time.perf_counter() - began:.1f}s")
    print(f"baseline: 10 traces and one of {BASELINE_BIG_TRACE} spans")
    baseline = asyncio.run(measure(build_index(10, BASELINE_BIG_TRACE), args.presses, BASELINE_BIG_TRACE))
    print(f"measured: {len(large):,} traces")
    measured = asyncio.run(measure(large, args.presses, args.big_trace))
    print(f"keypress to repaint, {args.presses} presses a case (target: p95 <= {TARGET_P95_MS:.0f} ms to the frame showing the move)")
    for name in measured:
        moved, settled = ([timing[which] for timing in measured[name]] for which in (0, 1))
        base = [timing[0] for timing in baseline[name]]
        p50, p95, base50, base95 = (percentile(values, p) * 1000 for values, p in ((moved, 50), (moved, 95), (base, 50), (base, 95)))
        verdict = "ok" if p95 <= TARGET_P95_MS else "OVER TARGET"
        print(f"  {name}: p95 {p95:.1f} ms ({p95 / base95:.2f}x the 10-trace baseline's {base95:.1f} ms), "
              f"p50 {p50:.1f} ms ({p50 / base50:.2f}x its {base50:.1f} ms): {verdict}; "
              f"every pane repainted: p50 {percentile(settled, 50) * 1000:.1f} ms, p95 {percentile(settled, 95) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
