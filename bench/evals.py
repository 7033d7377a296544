"""Evaluator speed: every reference-free evaluator on a 10,000-span trace, relative to loading that trace.

Builds one agent run of `--spans` spans (turns of an LLM call and a tool call, with realistic text in prompts,
answers and tool results) as an OTLP/JSON request, then times in the same run: loading it (parse, store,
analyse) and evaluating it (`orchtui.evaluation.evaluate_trace`, all reference-free evaluators). Target: the
evaluation at most 0.3x the load time; the ratio is what to compare across machines. Both phases are timed by the
wall clock and by the process's CPU time: on a shared machine the CPU ratio is the steadier of the two (other
processes stretch the wall clock of either phase).

A 100-span trace is loaded and evaluated once first, untimed: the evaluator modules are imported (and their
patterns compiled) on first use, a once-per-process cost that is not the evaluation of a trace.

Each timed phase starts after a full garbage collection. Without it the evaluation paid for the full (oldest
generation) collection that the load's ~100k new objects had made due, ~0.2 s of a ~1.2 s evaluation on the 2-core
machine: the load's cost billed to the evaluators. Each phase still pays for the collections its own allocations
trigger.

    python bench/evals.py [--spans 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchtui.analysis import Analyzer  # noqa: E402
from orchtui.evaluation import evaluate_trace  # noqa: E402
from orchtui.export import any_value  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402
from parsers import parse_bytes  # noqa: E402

WORDS = "the refund policy says orders lost in transit are refunded in full within five business days".split()


def attr(key: str, value) -> dict:
    return {"key": key, "value": any_value(value)}


def big_request(spans: int) -> bytes:
    trace_id = "e" * 32
    start = 1_760_000_000_000_000_000
    items = [{"traceId": trace_id, "spanId": f"{1:016x}", "name": "support_agent", "startTimeUnixNano": str(start),
              "endTimeUnixNano": str(start + spans * 1_000_000), "attributes": [attr("openinference.span.kind", "AGENT")]}]
    turn = 0
    while len(items) < spans:
        turn += 1
        base = start + turn * 2_000_000
        text = " ".join(WORDS[(turn + i) % len(WORDS)] for i in range(40))
        items.append({
            "traceId": trace_id, "spanId": f"{2 * turn:016x}", "parentSpanId": f"{1:016x}", "name": "ChatOpenAI",
            "startTimeUnixNano": str(base), "endTimeUnixNano": str(base + 900_000),
            "attributes": [
                attr("openinference.span.kind", "LLM"), attr("llm.model_name", "gpt-4o-mini"),
                attr("llm.token_count.prompt", 800), attr("llm.token_count.completion", 40),
                attr("llm.finish_reason", "tool_calls"),
                attr("llm.input_messages.0.message.role", "user"), attr("llm.input_messages.0.message.content", text),
                attr("llm.output_messages.0.message.role", "assistant"), attr("llm.output_messages.0.message.content", text),
                attr("llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "search"),
                attr("llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments", orjson.dumps({"page": turn}).decode()),
            ],
        })
        items.append({
            "traceId": trace_id, "spanId": f"{2 * turn + 1:016x}", "parentSpanId": f"{1:016x}", "name": "search",
            "startTimeUnixNano": str(base + 1_000_000), "endTimeUnixNano": str(base + 1_500_000),
            "attributes": [attr("openinference.span.kind", "TOOL"), attr("tool.name", "search"),
                           attr("input.value", orjson.dumps({"page": turn}).decode()), attr("output.value", f"page {turn}: {text}")],
        })
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": items[:spans]}]}]})


def load(data: bytes):
    store = SpanStore()
    store.add(parse_bytes(data, "bench").spans)
    (analysis,) = Analyzer(store).all()
    return analysis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = big_request(args.spans)
    evaluate_trace(load(big_request(100)))  # warm-up: imports and pattern compilation, untimed
    loads, evals, load_cpu, eval_cpu = [], [], [], []
    for _ in range(args.rounds):
        gc.collect()
        began, cpu = time.perf_counter(), time.process_time()
        analysis = load(data)
        loads.append(time.perf_counter() - began)
        load_cpu.append(time.process_time() - cpu)
        gc.collect()
        began, cpu = time.perf_counter(), time.process_time()
        evaluation = evaluate_trace(analysis)
        evals.append(time.perf_counter() - began)
        eval_cpu.append(time.process_time() - cpu)
    load_time, eval_time = statistics.median(loads), statistics.median(evals)
    print(f"{analysis.span_count:,}-span trace: load (parse + store + analyse) {load_time * 1000:.0f} ms, "
          f"{len(evaluation.results)} evaluators {eval_time * 1000:.0f} ms")
    print(f"evals: {eval_time / load_time:.2f}x the load time (target: <= 0.3x); "
          f"CPU time {statistics.median(eval_cpu) / statistics.median(load_cpu):.2f}x")


if __name__ == "__main__":
    main()
