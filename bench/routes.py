"""Routes benchmark: building the per-route stats of 100,000 traces, relative to loading them.

Generates `--traces` agent runs as a collector-style OTLP/JSON file (one request per trace per line, OpenInference
attributes): five workflows with a few paths each (tool retries, a variable number of searches, a hand-off, one
expensive fallback branch through an escalation agent on a bigger model), lognormal step durations and varied
token counts. Then, in the same run:

  load     `load_paths` into a SpanStore and `Analyzer.all()`: what `orchtui routes FILE` does before any route
  routes   `RouteBook.update` over every analysis, then `stats("path")` and `stats("family")`
  live     on that book, 100 traces get a new version (the live case: traces streaming in while the routes
           screen recomputes its stats twice a second): the 100 updates, then stats for one grouping

and prints medians of `--rounds` rounds, the routes time as a ratio to the load time (target: under 0.2x) and the
live re-stats in milliseconds.

    python bench/routes.py [--traces 100000] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchtui.analysis import Analyzer  # noqa: E402
from orchtui.analysis.routes import BY_FAMILY, BY_PATH, RouteBook  # noqa: E402
from orchtui.export import any_value  # noqa: E402
from orchtui.loading import load_paths  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402

LIVE_UPDATES = 100
WORDS = "the customer says the order never arrived and asks for a refund of the full amount to the original card".split()

# family -> [(weight, plan)]; plan items: ("llm", model), ("tool" | "retriever" | "handoff", name, (min, max) calls)
# or ("agent", name, [items]). The refund escalation branch is the expensive one: a sub-agent on gpt-4o, slow steps.
WORKFLOWS: dict[str, tuple[float, list[tuple[float, list]]]] = {
    "refund_request": (0.35, [
        (0.60, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", (1, 1)), ("llm", "gpt-4o-mini"), ("tool", "issue_refund", (1, 1)), ("llm", "gpt-4o-mini")]),
        (0.30, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", (1, 1)), ("retriever", "retrieve_policy", (1, 1)), ("llm", "gpt-4o-mini"), ("tool", "issue_refund", (1, 1)), ("llm", "gpt-4o-mini")]),
        (0.10, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", (1, 1)), ("agent", "escalation_agent", [("llm", "gpt-4o"), ("tool", "review_case", (1, 2)), ("llm", "gpt-4o")]), ("llm", "gpt-4o-mini")]),
    ]),
    "order_status": (0.25, [
        (0.85, [("llm", "gpt-4o-mini"), ("tool", "get_order", (1, 1)), ("llm", "gpt-4o-mini")]),
        (0.15, [("llm", "gpt-4o-mini"), ("tool", "get_order", (2, 3)), ("llm", "gpt-4o-mini")]),
    ]),
    "policy_research": (0.20, [
        (1.0, [("llm", "gpt-4o-mini"), ("retriever", "search_docs", (1, 4)), ("llm", "gpt-4o")]),
    ]),
    "triage_handoff": (0.15, [
        (1.0, [("agent", "triage_agent", [("llm", "gpt-4.1"), ("handoff", "handoff to billing_agent", (1, 1))]),
               ("agent", "billing_agent", [("llm", "gpt-4.1"), ("tool", "lookup_invoice", (1, 1)), ("llm", "gpt-4.1")])]),
    ]),
    "summarize_contract": (0.05, [(1.0, [("tool", "fetch_document", (1, 1)), ("llm", "gpt-4o")])]),
}
SLOW = {"escalation_agent": 4.0}
KINDS = {"llm": "LLM", "tool": "TOOL", "retriever": "RETRIEVER", "handoff": "TOOL", "agent": "AGENT"}


def attr(key: str, value) -> dict:
    return {"key": key, "value": any_value(value)}


class TraceFactory:
    """OpenInference-style agent runs laid out on a clock; each sub-agent starts with its first step."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.clock = 1_760_000_000_000_000_000

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def span(self, trace_id: str, parent: str | None, name: str, kind: str, attrs: list, start: int, end: int, error: str | None = None) -> dict:
        body = {
            "traceId": trace_id,
            "spanId": f"{self.rng.getrandbits(64):016x}",
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end),
            "attributes": [attr("openinference.span.kind", kind), *attrs],
            "status": {"code": 2, "message": error} if error else {"code": 1},
        }
        if parent is not None:
            body["parentSpanId"] = parent
        return body

    def step_ns(self, scale: float) -> int:
        return int(self.rng.lognormvariate(19.5, 0.6) * scale)  # median ~0.3 s

    def items(self, trace_id: str, parent: str, items: list, spans: list, scale: float) -> None:
        for item in items:
            if item[0] == "agent":
                start = self.clock
                index = len(spans)
                agent_id = f"{self.rng.getrandbits(64):016x}"
                self.items(trace_id, agent_id, item[2], spans, scale * SLOW.get(item[1], 1.0))
                agent = self.span(trace_id, parent, item[1], "AGENT", [attr("agent.name", item[1])], start, self.clock)
                agent["spanId"] = agent_id
                spans.insert(index, agent)
            elif item[0] == "llm":
                spans.append(self.llm(trace_id, parent, item[1], scale))
            else:
                low, high = item[2]
                for _ in range(self.rng.randint(low, high)):
                    spans.append(self.call(trace_id, parent, item[0], item[1], scale))

    def llm(self, trace_id: str, parent: str, model: str, scale: float) -> dict:
        start = self.clock
        self.clock += self.step_ns(scale)
        prompt, completion = self.rng.randint(200, 4000), self.rng.randint(10, 500)
        attrs = [
            attr("llm.model_name", model),
            attr("llm.provider", "openai"),
            attr("llm.token_count.prompt", prompt),
            attr("llm.token_count.completion", completion),
            attr("llm.token_count.total", prompt + completion),
            attr("llm.finish_reason", "stop" if self.rng.random() < 0.97 else "length"),
            attr("llm.input_messages.0.message.role", "user"),
            attr("llm.input_messages.0.message.content", self.text(12)),
            attr("llm.output_messages.0.message.role", "assistant"),
            attr("llm.output_messages.0.message.content", self.text(20)),
        ]
        return self.span(trace_id, parent, "ChatOpenAI", "LLM", attrs, start, self.clock)

    def call(self, trace_id: str, parent: str, kind: str, name: str, scale: float) -> dict:
        start = self.clock
        self.clock += self.step_ns(scale) // 2
        args = orjson.dumps({"query": self.text(3), "id": self.rng.randint(1, 99999)}).decode()
        attrs = [attr("input.value", args), attr("output.value", self.text(15))]
        if kind != "handoff":
            attrs.append(attr("tool.name", name))
        error = None
        if kind == "tool" and self.rng.random() < 0.04:
            error = "TimeoutError: upstream timed out" if self.rng.random() < 0.5 else "ValueError: unknown id"
        return self.span(trace_id, parent, name, KINDS[kind], attrs, start, self.clock, error)

    def trace(self) -> list[dict]:
        rng = self.rng
        names = list(WORKFLOWS)
        family = rng.choices(names, weights=[WORKFLOWS[n][0] for n in names])[0]
        plans = WORKFLOWS[family][1]
        plan = rng.choices([p for _, p in plans], weights=[w for w, _ in plans])[0]
        trace_id = f"{rng.getrandbits(128):032x}"
        root_id = f"{rng.getrandbits(64):016x}"
        self.clock += rng.randint(1, 50) * 1_000_000
        start = self.clock
        spans: list[dict] = []
        self.items(trace_id, root_id, plan, spans, 1.0)
        failed = rng.random() < 0.03
        root = self.span(trace_id, None, family, "AGENT", [attr("input.value", self.text(14))], start, self.clock + 1_000_000,
                         "GraphRecursionError: Recursion limit reached" if failed else None)
        root["spanId"] = root_id
        return [root, *spans]


def generate(path: Path, traces: int) -> int:
    factory = TraceFactory()
    spans = 0
    with path.open("wb") as out:
        for _ in range(traces):
            items = factory.trace()
            request = {"resourceSpans": [{"resource": {"attributes": [attr("service.name", "support-agents")]},
                                          "scopeSpans": [{"scope": {"name": "openinference.instrumentation.langchain"}, "spans": items}]}]}
            out.write(orjson.dumps(request) + b"\n")
            spans += len(items)
    return spans


def load(path: Path) -> list:
    store = SpanStore()
    report = load_paths([str(path)], store)
    assert not report.unreadable and not store.errors, (report.unreadable, store.errors[:3])
    return Analyzer(store).all()


def build_routes(analyses: list) -> tuple[RouteBook, list, list]:
    book = RouteBook()
    for analysis in analyses:
        book.update(analysis)
    return book, book.stats(BY_PATH), book.stats(BY_FAMILY)


def live_restats(book: RouteBook, analyses: list, rng: random.Random, by: str) -> tuple[float, float]:
    """Seconds to apply 100 new trace versions (each run 10% slower than recorded) and to recompute one grouping."""
    chosen = rng.sample(analyses, LIVE_UPDATES)
    newer = [dataclasses.replace(a, version=a.version + 1, end_ns=a.end_ns + (a.end_ns - a.start_ns) // 10) for a in chosen]
    began = time.perf_counter()
    for analysis in newer:
        book.update(analysis)
    updated = time.perf_counter()
    book.stats(by)
    return updated - began, time.perf_counter() - updated


def timed(fn, *args):
    began = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile building the routes once (cProfile, by own time)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "routes.otlp.jsonl"
        spans = generate(path, args.traces)
        print(f"generated {args.traces:,} traces, {spans:,} spans, {path.stat().st_size / 1e6:.0f} MB")
        if args.profile:
            import cProfile
            import pstats

            analyses = load(path)
            profiler = cProfile.Profile()
            profiler.runcall(build_routes, analyses)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            return
        loads, builds, updates, path_stats, family_stats = [], [], [], [], []
        rng = random.Random(5)
        for _ in range(args.rounds):
            seconds, analyses = timed(load, path)
            loads.append(seconds)
            assert len(analyses) == args.traces
            seconds, (book, by_path, by_family) = timed(build_routes, analyses)
            builds.append(seconds)
            for by, times in ((BY_PATH, path_stats), (BY_FAMILY, family_stats)):
                update, restat = live_restats(book, analyses, rng, by)
                updates.append(update)
                times.append(restat)
            del analyses, book
        load_time, build_time = statistics.median(loads), statistics.median(builds)
        expensive = [row for row in by_path if row.expensive]
        print(f"{len(by_path)} routes in {len(by_family)} families; expensive: "
              + "; ".join(f"{row.family}: {row.label} ({row.traces:,} traces)" for row in expensive))
        print(f"load (parse + store + analyse): median {load_time:.2f} s   routes (update all + stats by path and by family): "
              f"median {build_time * 1000:.0f} ms")
        print(f"routes: {build_time / load_time:.3f}x the load time (target: under 0.2x)")
        print(f"live, {args.traces:,}-trace book: {LIVE_UPDATES} updates {statistics.median(updates) * 1000:.1f} ms, then stats by path "
              f"{statistics.median(path_stats) * 1000:.1f} ms, by family {statistics.median(family_stats) * 1000:.1f} ms (medians)")


if __name__ == "__main__":
    main()
