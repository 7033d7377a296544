"""The detail pane of a file whose payloads stayed in the file (parsers/payloads.py): reading a step reads its
prompt, messages and attributes back from the file, and the pane shows exactly what a span that kept them shows."""

from __future__ import annotations

import gzip

import orjson
import pytest

from orchtui.demo import demo_requests
from orchtui.sources.factory import sources_for
from parsers import payloads
from tests.tui.conftest import DEMO_START_NS, demo_index, settle, until_listed
from tui.app import OrchApp
from tui.widgets.detail import TABS, DetailPane

SIZE = (120, 40)


async def _tabs_of_first_llm_call(app: OrchApp, pilot) -> dict[str, str]:
    """Every detail tab of policy_research's first LLM call, reached from the keyboard."""
    trace = next(row for row in app.trace_list.rows if row.name == "policy_research")
    app.jump_to_trace(trace.trace_id)
    await settle(pilot)
    await pilot.press("enter", "j")
    detail = app.query_one(DetailPane)
    step = detail.analysis.tree.spans[detail.span_id]
    assert (step.kind, step.name) == ("llm", "ChatOpenAI")
    assert str(step.source).endswith(("demo.otlp.jsonl:5", "demo.otlp.jsonl.gz:5", "demo"))
    console = app.console
    return {tab: "".join(segment.text for segment in console.render(detail.render_tab(tab))) for tab in TABS}


@pytest.mark.parametrize("name", ["demo.otlp.jsonl", "demo.otlp.jsonl.gz"])
async def test_the_detail_reads_payloads_back_from_the_file(tmp_path, name) -> None:
    """Also from a gzip file, through its seek points (parsers/gzip_seek.py)."""
    path = tmp_path / name
    lines = b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=DEMO_START_NS))
    path.write_bytes(gzip.compress(lines) if name.endswith(".gz") else lines)
    from_file = OrchApp(sources=sources_for([str(path)]), save_dir=tmp_path)
    async with from_file.run_test(size=SIZE) as pilot:
        await until_listed(pilot)  # loaded, and the 10 Hz tick has listed every trace
        await settle(pilot)
        spans = [span for snapshot in from_file.index.store.snapshots() for span in snapshot.spans]
        assert sum(span.payload_evicted for span in spans) > len(spans) // 2  # analysed, then back to the file
        reads = payloads.stats.reads
        shown = await _tabs_of_first_llm_call(from_file, pilot)
        assert payloads.stats.reads > reads

    in_memory = OrchApp(demo_index(), save_dir=tmp_path, sources_label="demo")
    async with in_memory.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = await _tabs_of_first_llm_call(in_memory, pilot)
    assert "search_docs" in shown["messages"] and "llm.token_count.prompt" in shown["attributes"]
    # The summaries differ in their last row only: where the step came from (the file's line, or the demo).
    def rows_before_source(summary: str) -> str:
        return " ".join(summary.split()).split(" source ")[0]  # column widths follow the longest value: ignored

    assert rows_before_source(shown.pop("summary")) == rows_before_source(expected.pop("summary"))
    assert shown == expected


async def test_going_through_the_traces_reads_back_only_the_step_shown_in_detail(tmp_path) -> None:
    """The step tree asks of every node's children whether they are streamed chunks; only OTHER spans can be, so
    the steps of trace after trace show from what stays in memory (a 1M-span open read 2,875 records back). What
    is read back is the one step the detail pane shows."""
    path = tmp_path / "demo.otlp.jsonl"
    path.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=DEMO_START_NS)))
    app = OrchApp(sources=sources_for([str(path)]), save_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until_listed(pilot)
        await settle(pilot)
        payloads.forget()
        restores = lambda: payloads.stats.reads + payloads.stats.hits
        before, shown = restores(), {app.step_tree.analysis.trace_id}
        for _ in app.trace_list.rows[1:]:
            await pilot.press("j")
            await settle(pilot)
            shown.add(app.step_tree.analysis.trace_id)
        assert len(shown) == len(app.trace_list.rows) > 5  # every trace's steps were shown
        assert restores() - before <= len(shown) - 1  # the detail's step, once a trace (16 when the tree read too)
