"""Check what orchtui reads from a recorded framework file against the recording's truth sidecar.

Each `tests/data/frameworks/<stem>.truth.json` was written by the recorder (tests/fixtures/record/) from what the
scripted model server really served and which tools really ran. This module compares orchtui's analysis of the
recorded trace file with it, run by run, on every axis: one trace per run, LLM calls, tokens, per-call stop
reasons, route, findings. `python -m tests.framework_truth` prints the matrix for every recorded file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchtui.analysis import Analyzer, TraceAnalysis
from orchtui.analysis.calls import route_calls
from orchtui.loading import load_paths
from orchtui.store import SpanStore
from parsers.conventions import is_handoff_tool, normalize_stop_reason
from parsers.span import TOOL

FRAMEWORKS = Path(__file__).parent / "data" / "frameworks"
AXES = ("trace", "calls", "tokens", "stops", "route", "findings")
SERIOUS = ("warn", "critical")


# What a producer does not record, per file stem and run ("*": every run) and axis: the axes orchtui cannot read
# right from that file, with the reason. Everything not listed here must read right (tests/orchtui/
# test_framework_fixtures.py), and every entry must still be needed, so the list stays the truth.
NO_CALL_SPANS = "no LLM span per call: the producer records the run, not its model calls"
UNRECORDED: dict[tuple[str, str], dict[str, str]] = {
    ("claude-agent-sdk-openinference", "*"): {
        "calls": "the model calls are aggregated on the agent span (no LLM spans)",
        "findings": "the truncated calls' reasons and the provider error and fallback are not recorded",
    },
    ("claude-agent-sdk-traceai", "loop"): {"findings": "the max-turns result is recorded only as is_error=true"},
    ("claude-agent-sdk-traceai", "truncated"): {
        "stops": "no finish reason, no max tokens and zero usage: a truncation cannot be seen",
        "findings": "no finish reason, no max tokens and zero usage: a truncation cannot be seen",
    },
    ("claude-agent-sdk-traceai", "provider_error"): {
        "calls": "the failed request leaves no span (only the next turn's model changes)",
        "findings": "the failed request leaves no span (only the next turn's model changes)",
    },
    ("pydantic-ai-traceai", "*"): {
        "calls": NO_CALL_SPANS,
        "route": "no tool spans and no messages",
        "findings": NO_CALL_SPANS,
    },
    ("mcp2-native", "*"): {
        "calls": "recorded without an LLM instrumentor: MCP spans only",
        "findings": "recorded without an LLM instrumentor: MCP spans only",
    },
    ("mastra-native", "provider_error"): {
        "calls": "the failed attempt leaves no span",
        "findings": "the failed attempt leaves no span",
    },
    ("anthropic-native", "*"): {
        "route": "metadata_only spans (the SDK's default) carry no tool calls or messages",
        "findings": "metadata_only spans (the SDK's default) carry no tool calls or messages",
    },
    ("litellm-native", "tool_error"): {"findings": "tool results are not recorded on the callback's spans"},
    ("litellm-traceai", "streamed"): {"route": "streamed spans keep no output (traceAI-litellm fails on the usage chunk)"},
    ("litellm-traceai", "router_fallback"): {
        "calls": "traceAI-litellm's own TypeError fails the fallback call before it is sent",
    },
    ("crewai-traceai", "streamed"): {
        "stops": "traceAI-openai streamed spans keep no output and no finish reason",
        "route": "traceAI-openai streamed spans keep no output and no finish reason",
    },
    ("mcp-traceai", "streamed"): {
        "stops": "traceAI-openai streamed spans keep no output and no finish reason",
        "route": "traceAI-openai streamed spans keep no output and no finish reason",
    },
}


def unrecorded(stem: str, run: str) -> dict[str, str]:
    """The axes (with reasons) that the producer of `stem` does not record for `run`."""
    return {**UNRECORDED.get((stem, "*"), {}), **UNRECORDED.get((stem, run), {})}


def stem_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


@dataclass
class RunCheck:
    run: str
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, axis: str, problem: str) -> None:
        self.problems.setdefault(axis, []).append(problem)


def truth_files() -> list[Path]:
    return sorted(FRAMEWORKS.glob("*.truth.json"))


def trace_files(truth: Path) -> list[Path]:
    """The recorded trace files of one sidecar: `.otlp.jsonl` and `.otlp.pb`, or a native `.jsonl`."""
    stem = truth.name.removesuffix(".truth.json")
    return [p for p in (truth.with_name(f"{stem}{s}") for s in (".otlp.jsonl", ".otlp.pb", ".jsonl")) if p.exists()]


def analyse_file(path: Path) -> list[TraceAnalysis]:
    store = SpanStore()
    report = load_paths([str(path)], store)
    if report.unreadable:
        raise AssertionError(f"{path.name}: unreadable: {report.unreadable}")
    return Analyzer(store).all()


def run_analysis(stem: str, run: str, suffix: str = ".otlp.jsonl") -> TraceAnalysis:
    """orchtui's analysis of one recorded run: the trace holding the run's spans."""
    truth = json.loads((FRAMEWORKS / f"{stem}.truth.json").read_text())
    span_ids = next(r["span_ids"] for r in truth["runs"] if r["run"] == run)
    return next(a for a in analyse_file(FRAMEWORKS / f"{stem}{suffix}") if span_ids[0] in a.tree.spans)


def check(truth_path: Path, trace_path: Path) -> list[RunCheck]:
    truth = json.loads(truth_path.read_text())
    analyses = analyse_file(trace_path)
    by_span: dict[str, TraceAnalysis] = {}
    for analysis in analyses:
        for span_id in analysis.tree.spans:
            by_span[span_id] = analysis
    return [check_run(run, by_span) for run in truth["runs"]]


def check_run(run: dict[str, Any], by_span: dict[str, TraceAnalysis]) -> RunCheck:
    result = RunCheck(run["run"])
    traces = {id(by_span[s]): by_span[s] for s in run["span_ids"] if s in by_span}
    missing = [s for s in run["span_ids"] if s not in by_span]
    if missing:
        result.add("trace", f"{len(missing)} of the run's spans not read")
    if len(traces) != 1:
        result.add("trace", f"{len(traces)} traces for one run")
        if not traces:
            return result
    analysis = max(traces.values(), key=lambda a: a.span_count)
    served = [entry for entry in run["served"]]
    _check_calls(result, analysis, served)
    _check_route(result, analysis, run["tools"])
    _check_findings(result, analysis, run)
    return result


def _check_calls(result: RunCheck, analysis: TraceAnalysis, served: list[dict[str, Any]]) -> None:
    # served in the order requests were answered; a failed attempt nested in the call that then succeeded starts
    # after it but ends first
    calls = sorted(analysis.llm_calls, key=lambda c: (c.end_ns or 0, c.start_ns or 0))
    if len(calls) != len(served):
        result.add("calls", f"{len(calls)} LLM calls, the server answered {len(served)} requests")
    if len(calls) != len(served):
        return
    # Usage is compared where the producer recorded it for the call (a failed streamed call may carry none):
    # a doubled or dropped count still shows.
    recorded = [
        entry
        for call, entry in zip(calls, served)
        if entry["status"] == 200 and entry.get("usage_delivered", True) and call.tokens is not None
    ]
    prompt = sum(e["prompt_tokens"] for e in recorded)
    completion = sum(e["completion_tokens"] for e in recorded)
    got = (analysis.tokens.prompt or 0, analysis.tokens.completion or 0)
    if got != (prompt, completion):
        result.add("tokens", f"tokens {got[0]}/{got[1]}, served {prompt}/{completion}")
    for index, (call, entry) in enumerate(zip(calls, served), 1):
        if entry["status"] != 200:
            if call.status != "error":
                result.add("stops", f"call {index}: the server answered {entry['status']}, the call is {call.status}")
            continue
        expected = normalize_stop_reason(entry["finish"])
        got = call.stop_reason or "missing"
        unrecorded_ok = got == "missing" and not call.records_finish_reason and expected == "stop"
        if got != expected and not unrecorded_ok:
            detail = "" if call.records_finish_reason else " (producer records none)"
            result.add("stops", f"call {index}: {got}{detail}, served {expected}")


def _check_route(result: RunCheck, analysis: TraceAnalysis, tools: list[str]) -> None:
    """The tools of the route in order; hand-off tools (CrewAI's delegation, LlamaIndex's handoff) are hand-offs."""
    got = [call.name for call in route_calls(analysis.tool_calls) if call.kind == TOOL]
    ran = [name for name in tools if not is_handoff_tool(name, {})]
    if got != ran:
        result.add("route", f"tools {got}, ran {ran}")


def _check_findings(result: RunCheck, analysis: TraceAnalysis, run: dict[str, Any]) -> None:
    codes = {finding.code for finding in analysis.findings}
    for code in run["expect_findings"]:
        # a more specific code of the family counts (stop_reason.truncated_tool_args is a truncation)
        if not any(c == code or c.startswith(code + "_") for c in codes):
            result.add("findings", f"no {code}")
    if run["clean"]:
        for finding in analysis.findings:
            if finding.severity in SERIOUS:
                result.add("findings", f"clean run has {finding.severity} {finding.code}: {finding.message[:90]}")


def main() -> None:
    """Print the matrix: one row per file and run, one column per axis (ok, or the first problem)."""
    verbose = "-v" in sys.argv
    total = bad = 0
    for truth in truth_files():
        for path in trace_files(truth):
            try:
                runs = check(truth, path)
            except AssertionError as error:
                print(f"{path.name:45} {error}")
                continue
            for run in runs:
                total += 1
                known = unrecorded(stem_of(path), run.run)
                marks = ["ok" if axis not in run.problems else "n/a" if axis in known else "XX" for axis in AXES]
                bad += any(axis not in known for axis in run.problems)
                print(f"{path.name:45} {run.run:24} " + " ".join(f"{m:8}" for m in marks))
                if verbose:
                    for axis, problems in run.problems.items():
                        for problem in problems:
                            print(f"    {axis}: {problem}")
    print(f"{total - bad} of {total} runs read right on every axis the producer records ({' '.join(AXES)})")


if __name__ == "__main__":
    main()
