"""Everything the engine knows about one trace at one version: tree, totals, route, retries, findings.

`analyze` is pure (snapshot in, TraceAnalysis out); `Analyzer` caches results per (trace id, version) so a live
store only re-analyses the traces that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsers.span import AGENT, CHAIN, EMBEDDING, ERROR, GUARDRAIL, HANDOFF, OK, RETRIEVER, TOOL, UNSET, ReadError, Span, Tokens
from parsers.values import ns_to_iso

from ..store import SpanStore, TraceSnapshot
from .calls import ToolCall, route_calls, tool_calls
from .cost import span_cost
from .efficiency import redundant_calls, tool_error_findings
from .findings import CRITICAL, WARN, Finding, worst
from .llm_errors import llm_error_findings
from .loops import detect_loops
from .model_calls import llm_calls
from .retries import retry_attempts, retry_findings
from .stop_reasons import infer_tool_call_stops, stop_reason_findings
from .timeouts import tool_timeouts
from .tree import StepTree, build_tree

# Kinds whose failure means the run failed (a tool or LLM error may have been recovered from).
RUN_LEVEL_KINDS = (AGENT, CHAIN, GUARDRAIL)
STOP_REASON_PROBLEMS = ("missing", "length", "content_filter", "error", "pause")

# Flag names shown in lists and used by quick filters.
FLAG_LOOP = "loop"
FLAG_STOP = "stop_reason"
FLAG_ERROR = "error"
FLAG_RETRY = "retry"
FLAG_FALLBACK = "fallback"


@dataclass(slots=True)
class TraceAnalysis:
    trace_id: str
    version: int
    tree: StepTree
    name: str
    service: str | None
    start_ns: int | None
    end_ns: int | None
    in_progress: bool
    status: str
    llm_calls: list[Span]
    tool_calls: list[ToolCall]
    tokens: Tokens
    cost_usd: float | None
    cost_complete: bool  # False when some LLM call could not be priced
    span_costs: dict[str, float]
    stop_reason: str | None
    retry_attempts: dict[str, int]
    route: list[str]
    duplicate_calls: dict[str, str] = field(default_factory=dict)  # LLM span id -> the span counted for its request
    findings: list[Finding] = field(default_factory=list)
    findings_by_span: dict[str, list[Finding]] = field(default_factory=dict)
    tool_timeouts: int = 0  # executed tool calls that failed by timing out (timeouts.py)

    @property
    def span_count(self) -> int:
        return len(self.tree.spans)

    @property
    def duration_ms(self) -> float | None:
        """None while running, and when the clock says it ended before it started (corrupt times, or clocks
        that disagree): a negative duration is not one."""
        if self.start_ns is None or self.end_ns is None or self.end_ns < self.start_ns:
            return None
        return round((self.end_ns - self.start_ns) / 1e6, 3)

    @property
    def retries(self) -> int:
        return len(self.retry_attempts)

    @property
    def flags(self) -> set[str]:
        flags = set()
        for finding in self.findings:
            if finding.severity == "info":
                continue
            family = finding.code.split(".", 1)[0]
            if family == "loop":
                flags.add(FLAG_LOOP)
            elif family == "stop_reason":
                flags.add(FLAG_STOP)
            elif family in ("tool", "llm") and finding.severity == CRITICAL:  # a recovered error is not a failed run
                flags.add(FLAG_ERROR)
            elif finding.code == "route.fallback":
                flags.add(FLAG_FALLBACK)
        if self.status == ERROR:
            flags.add(FLAG_ERROR)
        if self.retry_attempts:
            flags.add(FLAG_RETRY)
        return flags

    @property
    def severity(self) -> str | None:
        return worst(self.findings)

    def to_json(self) -> dict[str, Any]:
        """The per-trace object of the `check --json` contract (architecture.md)."""
        return {
            "trace_id": self.trace_id,
            "name": self.name,
            "service": self.service,
            "start": ns_to_iso(self.start_ns),
            "duration_ms": self.duration_ms,
            "spans": self.span_count,
            "llm_calls": len(self.llm_calls),
            "tool_calls": sum(1 for call in self.tool_calls if call.kind == TOOL),
            "status": self.status,
            "tokens": {"prompt": self.tokens.prompt, "completion": self.tokens.completion, "total": self.tokens.total},
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 8),
            "stop_reason": self.stop_reason,
            "retries": self.retries,
            "route": self.route,
            "findings": [finding.to_json() for finding in self.findings],
        }


def analyze(snapshot: TraceSnapshot, final: bool = True) -> TraceAnalysis:
    """`final`: no more spans will arrive (a saved file read to its end, as `check` reads it), so a trace whose
    root never came is as complete as it will get, not running. A live view passes False until its sources end."""
    tree = build_tree(snapshot.spans, snapshot.by_id)
    ordered = tree.ordered
    root = tree.root
    llms, duplicate_calls = llm_calls(ordered)
    calls = tool_calls(ordered)
    in_progress = _in_progress(tree, final)
    status = _trace_status(root, ordered)

    start_ns = min((s.start_ns for s in ordered if s.start_ns is not None), default=None)
    if root is not None and root.end_ns is not None and root.start_ns is not None and not tree.orphans:
        end_ns = max(root.end_ns, max((s.end_ns for s in ordered if s.end_ns is not None), default=root.end_ns))
    else:
        end_ns = max((s.end_ns for s in ordered if s.end_ns is not None), default=None)

    tokens, costs, cost_complete = _totals(llms, ordered)
    attempts = retry_attempts(ordered)

    findings: list[Finding] = []
    findings += detect_loops([c for c in calls if c.kind in (TOOL, RETRIEVER, HANDOFF)], ordered)
    infer_tool_call_stops(llms, ordered)
    findings += stop_reason_findings(llms, ordered, trace_finished=not in_progress)
    findings += llm_error_findings(llms)
    findings += tool_error_findings(calls, trace_failed=status == ERROR)
    findings += retry_findings(ordered, attempts)
    findings += redundant_calls(calls)
    if tree.orphans:
        findings.append(
            Finding(
                "trace.orphan_spans",
                WARN,
                f"{len(tree.orphans)} span(s) whose parent never arrived (shown under a placeholder)",
                tree.orphans[0],
                evidence={"span_ids": list(tree.orphans)},
            )
        )
    if tree.cycle_members:
        findings.append(
            Finding(
                "trace.parent_cycle",
                WARN,
                f"parent links form a cycle; {len(tree.cycle_members)} span(s) detached to break it",
                tree.cycle_members[0],
            )
        )
    by_span: dict[str, list[Finding]] = {}
    for finding in findings:
        for span_id in finding.evidence.get("span_ids", [finding.span_id]) if finding.code.startswith("loop.") else [finding.span_id]:
            if span_id is not None:
                by_span.setdefault(span_id, []).append(finding)

    return TraceAnalysis(
        trace_id=snapshot.trace_id,
        version=snapshot.version,
        tree=tree,
        name=_trace_name(tree, in_progress),
        service=next((s.service for s in ordered if s.service), None),
        start_ns=start_ns,
        end_ns=end_ns,
        in_progress=in_progress,
        status=status,
        llm_calls=llms,
        tool_calls=calls,
        tokens=tokens,
        cost_usd=sum(costs.values()) if costs else None,
        cost_complete=cost_complete,
        span_costs=costs,
        stop_reason=llms[-1].stop_reason if llms else None,
        retry_attempts=attempts,
        route=[c.name for c in route_calls(calls)],
        duplicate_calls=duplicate_calls,
        findings=findings,
        findings_by_span=by_span,
        tool_timeouts=tool_timeouts(calls),
    )


def _in_progress(tree: StepTree, final: bool) -> bool:
    """Running while the root is open, or (live) while it has not arrived: spans are exported as they end, so
    a root usually arrives last, after every child has ended."""
    if tree.roots:
        return tree.spans[tree.roots[0]].end_ns is None
    return bool(tree.spans) and not final


def _trace_name(tree: StepTree, in_progress: bool) -> str:
    """A trace is named after its root. Until the root is known, after its earliest-starting span (the closest
    thing to the root that arrived, not whichever child was exported first), marked as provisional while the root
    may still come."""
    if tree.roots:
        return tree.spans[tree.roots[0]].name
    if not tree.ordered:
        return "(no spans)"
    name = tree.ordered[0].name
    return f"(waiting for root) {name}" if in_progress else name


def _trace_status(root: Span | None, ordered: list[Span]) -> str:
    """Error when the root or a run-level span (agent, chain, guardrail turn) failed and the run did not go on
    past it; else the root's status. A failed step followed by a later step of the same parent that ended well
    was recovered from (smolagents retries a step whose tool failed)."""
    if root is not None and root.status == ERROR:
        return ERROR
    failed = [span for span in ordered if span.status == ERROR and span.kind in RUN_LEVEL_KINDS]
    if failed:
        by_parent: dict[str | None, list[Span]] = {}
        for span in ordered:
            if span.kind in RUN_LEVEL_KINDS:
                by_parent.setdefault(span.parent_id, []).append(span)
        if any(not _recovered(span, by_parent.get(span.parent_id, ())) for span in failed):
            return ERROR
    if root is None:
        return UNSET
    return OK if root.status == OK else root.status


def _recovered(failed: Span, siblings: list[Span] | tuple[()]) -> bool:
    end = failed.end_ns
    if end is None:
        return False
    return any(
        other.status != ERROR and other.end_ns is not None and other.start_ns is not None and other.start_ns >= end
        for other in siblings
    )


def _totals(llms: list[Span], ordered: list[Span]) -> tuple[Tokens, dict[str, float], bool]:
    """Sum tokens and cost over model calls only (each request once): wrapper spans often repeat their children's
    usage."""
    total = Tokens()
    costs: dict[str, float] = {}
    complete = True
    for span in [*llms, *(s for s in ordered if s.kind == EMBEDDING)]:
        tokens = span.tokens
        if tokens is not None:
            for name in ("prompt", "completion", "total", "cache_read", "cache_write", "reasoning"):
                value = getattr(tokens, name)
                if value is not None:
                    setattr(total, name, (getattr(total, name) or 0) + value)
        cost = span_cost(span)
        if cost is not None:
            costs[span.span_id] = cost
        elif tokens is not None and not tokens.is_empty():
            complete = False
    total.complete_total()  # a call without a reported total still counts its prompt and completion
    return total, costs, complete


class Analyzer:
    """Analyses a store's traces, caching per (trace id, version): unchanged traces are never redone."""

    def __init__(self, store: SpanStore, final: bool = True) -> None:
        self.store = store
        self.final = final  # see `analyze`; a live index sets it when its sources have ended
        self._cache: dict[str, TraceAnalysis] = {}
        self._failed: dict[str, int] = {}  # trace id -> the version whose analysis failed (not retried)

    def get(self, trace_id: str) -> TraceAnalysis | None:
        version = self.store.version(trace_id)
        if version is None:
            self._cache.pop(trace_id, None)
            return None
        cached = self._cache.get(trace_id)
        if cached is not None and cached.version == version:
            return cached
        if self._failed.get(trace_id) == version:
            return None
        snapshot = self.store.snapshot(trace_id)
        if snapshot is None:
            return None
        try:
            result = self._cache[trace_id] = analyze(snapshot) if self.final else analyze(snapshot, final=False)
        except Exception as exc:  # noqa: BLE001 - a trace the analysis cannot handle costs itself, not the list
            self._failed[trace_id] = version
            message = f"could not be analysed ({type(exc).__name__}: {exc}); its spans are kept"
            self.store.add_errors([ReadError(f"trace {trace_id}", message[:300])])
            return None
        return result

    def forget(self, trace_id: str) -> None:
        self._cache.pop(trace_id, None)

    def adopt(self, trace_id: str, analysis: TraceAnalysis | None, version: int) -> None:
        """Take the analysis of a trace the store adopted at `version` (`SpanStore.adopt`), made where its spans
        were read; None: its analysis failed there (and said so), so it is not tried again. Spans added since
        (another source, on another thread) move the store's version on, and the trace is analysed again."""
        if analysis is None:
            self._failed[trace_id] = version
        else:
            analysis.version = version
            self._cache[trace_id] = analysis

    def all(self) -> list[TraceAnalysis]:
        return [a for trace_id in self.store.trace_ids() if (a := self.get(trace_id)) is not None]
