"""Ingest benchmark: a big OTLP/JSON file to a browsable, analysed trace list, against bare `orjson.loads`.

Generates a synthetic collector-style OTLP/JSON file (one request per trace per line) of LangGraph-like agent
traces with realistic OpenInference attributes (flattened chat messages, JSON input/output payloads, token
counts, tool calls), then times, in the same run and alternating to share the machine's noise:

  baseline  `orjson.loads` of every line (the floor: any JSON reader has to do this)
  orchtui   read the file into the store (parse to normalized spans, assemble traces) + analyse every trace
            (tree, totals, cost, retries, loops, stop reasons): what `orchtui check` and the trace list need,
            on one core
  2 cores   the same as `orchtui check` loads it: a file of 32 MiB and more has its second part read by a forked
            worker (orchtui/split_load.py), when the machine has two CPUs

and prints `ingest: X spans/s, N.NNx bare orjson` (target: 2.0x or less). Medians of `--rounds` rounds.

    python bench/ingest.py [--spans 200000] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchtui.analysing_sink import AnalysingSink  # noqa: E402
from orchtui.cli import _load  # noqa: E402
from orchtui.export import any_value  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402
from orchtui.bulk import bulk_load  # noqa: E402
from orchtui.loading import load_paths  # noqa: E402

TOOLS = ["lookup_policy", "search_kb", "get_order", "issue_refund", "compliance_review", "web_search"]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20241022", "gpt-4.1"]
WORDS = "the policy says refunds over five hundred dollars need a manager approval within thirty days of purchase".split()


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def attr(key: str, value) -> dict:
    return {"key": key, "value": any_value(value)}


class TraceFactory:
    """Agent traces: root chain, then turns of (agent node -> LLM call -> optional tool node -> tool call)."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.clock = 1_760_000_000_000_000_000

    def span_id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def span(self, trace_id, parent, name, kind, attrs, duration_ns, status_code=1):
        start = self.clock
        self.clock += duration_ns
        body = {
            "traceId": trace_id,
            "spanId": self.span_id(),
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + duration_ns),
            "attributes": [attr("openinference.span.kind", kind), *attrs],
            "status": {"code": status_code},
        }
        if parent is not None:
            body["parentSpanId"] = parent["spanId"]
        return body

    def trace(self, target_spans: int) -> list[dict]:
        rng = self.rng
        trace_id = f"{rng.getrandbits(128):032x}"
        question = text(rng, 14)
        root = self.span(trace_id, None, "support_agent", "CHAIN", [attr("input.value", question)], 5_000_000)
        spans = [root]
        step = 1
        history = [("system", text(rng, 120)), ("user", question)]
        while len(spans) < target_spans - 1:
            node = self.span(trace_id, root, "agent", "AGENT", [attr("metadata", orjson.dumps({"langgraph_step": step, "langgraph_node": "agent"}).decode())], 900_000)
            model = rng.choice(MODELS)
            wants_tool = len(spans) < target_spans - 5
            tool = rng.choice(TOOLS)
            args = {"query": text(rng, 3), "limit": rng.randint(1, 10)}
            answer = "" if wants_tool else text(rng, 40)
            llm_attrs = [
                attr("llm.model_name", model),
                attr("llm.provider", "openai"),
                attr("llm.token_count.prompt", rng.randint(200, 4000)),
                attr("llm.token_count.completion", rng.randint(10, 400)),
                attr("llm.token_count.total", 0),
                attr("llm.finish_reason", "tool_calls" if wants_tool else "stop"),
                attr("llm.invocation_parameters", '{"temperature": 0.2, "max_tokens": 1024}'),
                attr("input.value", orjson.dumps({"messages": [{"role": r, "content": c} for r, c in history]}).decode()),
                attr("input.mime_type", "application/json"),
                attr("output.value", orjson.dumps({"role": "assistant", "content": answer, "tool_calls": [{"id": "call_1", "function": {"name": tool, "arguments": orjson.dumps(args).decode()}}] if wants_tool else []}).decode()),
                attr("output.mime_type", "application/json"),
            ]
            for index, (role, content) in enumerate(history[-4:]):
                llm_attrs.append(attr(f"llm.input_messages.{index}.message.role", role))
                llm_attrs.append(attr(f"llm.input_messages.{index}.message.content", content))
            llm_attrs.append(attr("llm.output_messages.0.message.role", "assistant"))
            if wants_tool:
                llm_attrs.append(attr("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", tool))
                llm_attrs.append(attr("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", orjson.dumps(args).decode()))
            else:
                llm_attrs.append(attr("llm.output_messages.0.message.content", answer))
            llm = self.span(trace_id, node, "ChatOpenAI", "LLM", llm_attrs, 700_000)
            spans += [node, llm]
            if wants_tool:
                tools_node = self.span(trace_id, root, "tools", "CHAIN", [], 300_000)
                result = text(rng, 60)
                call = self.span(
                    trace_id,
                    tools_node,
                    tool,
                    "TOOL",
                    [attr("tool.name", tool), attr("input.value", orjson.dumps(args).decode()), attr("output.value", result)],
                    250_000,
                    status_code=2 if rng.random() < 0.03 else 1,
                )
                spans += [tools_node, call]
                history.append(("tool", result))
            step += 1
        return spans


def generate(path: Path, total_spans: int) -> int:
    factory = TraceFactory()
    written = 0
    with path.open("wb") as out:
        while written < total_spans:
            spans = factory.trace(min(20, max(6, total_spans - written)))
            request = {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [attr("service.name", "support-agents")]},
                        "scopeSpans": [{"scope": {"name": "openinference.instrumentation.langchain"}, "spans": spans}],
                    }
                ]
            }
            out.write(orjson.dumps(request) + b"\n")
            written += len(spans)
    return written


def bare_orjson(data: bytes) -> int:
    count = 0
    for line in data.split(b"\n"):
        if line:
            orjson.loads(line)
            count += 1
    return count


def orchtui_ingest(path: Path) -> int:
    """What `orchtui check` does before it reports (orchtui.cli._load): a bulk load of the file into a store,
    every trace analysed."""
    store = SpanStore()
    sink = AnalysingSink(store)
    with bulk_load():
        load_paths([str(path)], sink)
        analyses = sink.analyses()
    assert not store.errors
    return sum(a.span_count for a in analyses)


def orchtui_ingest_two_cores(path: Path) -> int:
    """`orchtui check`'s own load (orchtui.cli._load), which reads a big file on two cores."""
    store, _, analyses = _load([str(path)])
    assert not store.errors
    return sum(a.span_count for a in analyses)


def timed(fn, argument) -> tuple[float, int]:
    """One timed run, from a clean collector (a previous run's frozen heap is released first)."""
    gc.unfreeze()
    gc.collect()
    start = time.perf_counter()
    count = fn(argument)
    return time.perf_counter() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one orchtui round (cProfile: top functions by cumulative and own time)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.otlp.jsonl"
        spans = generate(path, args.spans)
        data = path.read_bytes()
        lines = data.count(b"\n")
        print(
            f"generated {spans:,} spans, {len(data) / 1e6:.1f} MB ({len(data) / spans:,.0f} B/span; the real "
            f"LangGraph OpenInference fixture has ~3,600 B/span), {lines:,} lines"
        )
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(orchtui_ingest, path)
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(20)
            stats.sort_stats("tottime").print_stats(25)
            return
        baseline, ours, two_cores = [], [], []
        for _ in range(args.rounds):
            seconds, _ = timed(bare_orjson, data)
            baseline.append(seconds)
            seconds, count = timed(orchtui_ingest, path)
            assert count == spans, (count, spans)
            ours.append(seconds)
            seconds, count = timed(orchtui_ingest_two_cores, path)
            assert count == spans, (count, spans)
            two_cores.append(seconds)
        base, mine, both = statistics.median(baseline), statistics.median(ours), statistics.median(two_cores)
        print(f"bare orjson.loads: median {base:.3f}s   orchtui parse+assemble+analyse: median {mine:.3f}s")
        print(f"ingest: {spans / mine:,.0f} spans/s, {mine / base:.2f}x bare orjson")
        print(
            f"ingest as check loads it ({len(os.sched_getaffinity(0))} CPUs; a second process for files of 32 MiB "
            f"and more): median {both:.3f}s, {spans / both:,.0f} spans/s, {both / base:.2f}x bare orjson on one core"
        )


if __name__ == "__main__":
    main()
