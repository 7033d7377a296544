"""The bundled demo: realistic multi-agent runs, written as OTLP/JSON with OpenInference attributes.

Produced by code (nothing is downloaded) and read back through the same parser as any real file, so the demo
exercises the real path. Every answer says only what its tools returned (or the user said), except where a scenario
is about the answer going wrong, so `orchtui eval` passes the clean runs and fails exactly the broken ones.
Scenarios, one trace each:

- `refund_request` (three times): a clean run; a run whose policy search finds nothing and falls back to a stronger
  model; and a run that skips `retrieve_policy` and states the refund timeline from memory (the one answer that
  invents a detail no tool returned: `orchtui eval` flags it under Faithfulness)
- `policy_research`: a retrieval loop that ends on LangGraph's recursion limit
- `order_status`: a tool timeout followed by a successful retry
- `summarize_contract`: an answer truncated at the token limit (`length`)
- `escalation_check`: a final LLM call whose stop reason was never recorded
- `triage_handoff`: a hand-off from a triage agent to a billing agent

`demo_requests()` returns the OTLP requests; `DemoSource` releases their spans over a few seconds in the order
an exporter would send them (a span is exported when it ends), so traces appear and grow live.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from parsers.otlp_json import spans_from_request

from .export import any_value
from parsers.span import Source, Span

from .sources.base import FOLLOW, SpanSink
from .sources.base import Source as SpanSource  # parsers' `Source` is where a span was read

SERVICE = "support-agents"
MS = 1_000_000


def _attr(key: str, value: Any) -> dict[str, Any]:
    """An OTLP attribute; structures become JSON strings, as OpenInference records them."""
    if not isinstance(value, (str, bool, int, float)):
        value = orjson.dumps(value).decode()
    return {"key": key, "value": any_value(value)}


@dataclass
class _TraceBuilder:
    """Lays out one trace's spans on a clock, OpenInference-style."""

    name: str
    number: int
    start_ns: int
    spans: list[dict[str, Any]] = field(default_factory=list)
    clock: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def trace_id(self) -> str:
        return hashlib.blake2b(f"demo-trace-{self.number}".encode(), digest_size=16).hexdigest()

    def _id(self) -> str:
        return hashlib.blake2b(f"demo-span-{self.number}-{next(self._ids)}".encode(), digest_size=8).hexdigest()

    def open(self, name: str, kind: str, parent: dict | None, attrs: dict[str, Any] | None = None) -> dict[str, Any]:
        span = {
            "traceId": self.trace_id,
            "spanId": self._id(),
            "name": name,
            "kind": 1,
            "startTimeUnixNano": str(self.start_ns + self.clock),
            "attributes": [_attr("openinference.span.kind", kind)] + [_attr(k, v) for k, v in (attrs or {}).items()],
            "status": {"code": 1},
        }
        if parent is not None:
            span["parentSpanId"] = parent["spanId"]
        self.spans.append(span)
        return span

    def close(self, span: dict[str, Any], after_ms: float, error: str | None = None, **attrs: Any) -> dict[str, Any]:
        self.clock += int(after_ms * MS)
        span["endTimeUnixNano"] = str(self.start_ns + self.clock)
        span["attributes"] += [_attr(k, v) for k, v in attrs.items()]
        if error is not None:
            span["status"] = {"code": 2, "message": error}
            kind, _, message = error.partition(": ")
            span["events"] = [
                {
                    "timeUnixNano": span["endTimeUnixNano"],
                    "name": "exception",
                    "attributes": [
                        _attr("exception.type", kind),
                        _attr("exception.message", message or error),
                        _attr("exception.stacktrace", f"Traceback (most recent call last):\n  File \"agent.py\", line 42, in run\n{error}"),
                    ],
                }
            ]
        return span

    def wait(self, ms: float) -> None:
        self.clock += int(ms * MS)

    def llm(
        self,
        parent: dict,
        question: str,
        *,
        answer: str = "",
        calls: list[tuple[str, dict]] = (),
        finish: str | None = "stop",
        model: str = "gpt-4o-mini",
        tokens: tuple[int, int] = (400, 40),
        ms: float = 900,
        step: int | None = None,
    ) -> dict:
        attrs: dict[str, Any] = {
            "llm.model_name": model,
            "llm.provider": "openai",
            "llm.system": "openai",
            "llm.invocation_parameters": {"temperature": 0.1, "max_tokens": 1024},
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You are a careful support agent. Use tools; never guess policy.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": question,
            "input.value": {"messages": [{"role": "user", "content": question}]},
            "input.mime_type": "application/json",
        }
        if step is not None:
            attrs["metadata"] = {"langgraph_step": step, "langgraph_node": "agent"}
        span = self.open("ChatOpenAI", "LLM", parent, attrs)
        out: dict[str, Any] = {
            "llm.output_messages.0.message.role": "assistant",
            "llm.token_count.prompt": tokens[0],
            "llm.token_count.completion": tokens[1],
            "llm.token_count.total": tokens[0] + tokens[1],
            "output.mime_type": "application/json",
        }
        if answer:
            out["llm.output_messages.0.message.content"] = answer
        for index, (tool, args) in enumerate(calls):
            prefix = f"llm.output_messages.0.message.tool_calls.{index}.tool_call"
            out[f"{prefix}.id"] = f"call_{self.number}_{self.clock}_{index}"
            out[f"{prefix}.function.name"] = tool
            out[f"{prefix}.function.arguments"] = orjson.dumps(args).decode()
        payload: dict[str, Any] = {"role": "assistant", "content": answer}
        if finish is not None:
            out["llm.finish_reason"] = finish
        out["output.value"] = payload
        return self.close(span, ms, **out)

    def tool(self, parent: dict, name: str, args: Any, result: str | None, *, ms: float = 300, error: str | None = None, kind: str = "TOOL") -> dict:
        attrs = {"tool.name": name, "input.value": args if isinstance(args, str) else orjson.dumps(args).decode()}
        if kind == "RETRIEVER":
            attrs = {"input.value": args}
        span = self.open(name, kind, parent, attrs)
        out = {"output.value": result} if result is not None else {}
        if kind == "RETRIEVER" and result is not None:
            out["retrieval.documents.0.document.content"] = result
            out["retrieval.documents.0.document.score"] = 0.82
        return self.close(span, ms, error=error, **out)


def _refund(builder: _TraceBuilder, retrieval: str) -> None:
    """One refund workflow, three ways: `found` (the golden path), `skipped` (no policy lookup: a departure from
    the path that still answers) and `missed` (the policy search finds nothing, and the agent falls back to a
    stronger model with the whole order history in context: the expensive branch of the family)."""
    question = "I was charged for order 8812 but it never arrived. Can I get a refund?"
    root = builder.open("refund_request", "AGENT", None, {"input.value": question, "session.id": "sess-refund", "agent.name": "refund_agent"})
    builder.wait(40)
    builder.llm(root, question, calls=[("lookup_order", {"order_id": "8812"})], finish="tool_calls", tokens=(612, 38), step=1)
    builder.tool(root, "lookup_order", {"order_id": "8812"}, '{"order_id": "8812", "status": "lost in transit", "amount": 129.0}', ms=180)
    if retrieval == "found":
        builder.tool(root, "retrieve_policy", "refund policy for lost shipments", "Lost shipments are refunded in full within 5 business days.", kind="RETRIEVER", ms=240)
    elif retrieval == "missed":
        builder.tool(root, "retrieve_policy", "refund policy for lost shipments", "", kind="RETRIEVER", ms=260)
    call = [("issue_refund", {"order_id": "8812", "amount": 129.0})]
    if retrieval == "missed":
        builder.llm(root, question, calls=call, finish="tool_calls", tokens=(2480, 52), model="gpt-4o", ms=2300, step=2)
    else:
        # Without the retrieved policy the second call has less context, and decides on the order data alone.
        builder.llm(root, question, calls=call, finish="tool_calls", tokens=(905, 44) if retrieval == "found" else (760, 44), step=2)
    builder.tool(root, "issue_refund", {"order_id": "8812", "amount": 129.0}, '{"refund_id": "rf_5531", "status": "queued"}', ms=420)
    answer = "Your order 8812 was lost in transit, so I've issued a full refund of $129.00 (refund rf_5531)."
    if retrieval != "missed":
        # Grounded in the retrieved policy when it was found; when the lookup was skipped, the same sentence is the
        # model's guess at the policy: a detail no tool returned (the system prompt says never to guess policy).
        answer += " Refunds for lost shipments arrive within 5 business days."
    builder.llm(root, question, answer=answer, tokens=(2650, 61) if retrieval == "missed" else (1180, 61), model="gpt-4o", ms=2100 if retrieval == "missed" else 900, step=3)
    builder.close(root, 30, **{"output.value": answer})


def _policy_loop(builder: _TraceBuilder) -> None:
    question = "What is the policy for approving a $25,000 vendor exception?"
    root = builder.open("policy_research", "AGENT", None, {"input.value": question, "agent.name": "policy_agent"})
    for step in range(1, 6):
        builder.llm(root, question, calls=[("search_docs", {"query": "vendor exception policy"})], finish="tool_calls", tokens=(520 + 140 * step, 24), step=step)
        builder.tool(root, "search_docs", "vendor exception policy", "No documents matched the query.", kind="RETRIEVER", ms=260)
    builder.llm(root, question, calls=[("search_docs", {"query": "vendor exception policy"})], finish="tool_calls", tokens=(1400, 24), step=6)
    builder.close(
        root,
        20,
        error="GraphRecursionError: Recursion limit of 12 reached without hitting a stop condition.",
    )


def _order_status(builder: _TraceBuilder) -> None:
    question = "Where is my order 4471?"
    root = builder.open("order_status", "AGENT", None, {"input.value": question, "agent.name": "order_agent"})
    builder.llm(root, question, calls=[("get_order", {"order_id": "4471"})], finish="tool_calls", tokens=(388, 30), step=1)
    builder.tool(root, "get_order", {"order_id": "4471"}, None, ms=3000, error="TimeoutError: upstream orders API timed out after 3s")
    builder.wait(500)
    builder.tool(
        root, "get_order", {"order_id": "4471"},
        '{"order_id": "4471", "status": "shipped", "carrier": "UPS", "estimated_delivery": "November 28"}', ms=210,
    )
    answer = "Order 4471 has shipped with UPS and should arrive by November 28."
    builder.llm(root, question, answer=answer, tokens=(520, 22), step=2)
    builder.close(root, 15, **{"output.value": answer})


def _truncated(builder: _TraceBuilder) -> None:
    question = "Summarize the attached 40-page supplier contract, clause by clause."
    root = builder.open("summarize_contract", "AGENT", None, {"input.value": question, "agent.name": "contracts_agent"})
    document = (
        "MASTER SUPPLY AGREEMENT (40 pages)\nClause 1 (Definitions): terms used in this agreement.\n"
        "Clause 2 (Term): three years from signature.\nClause 3 (Pricing): the supplier may adjust prices quarterly "
        "provided that it gives 60 days notice.\n..."
    )
    builder.tool(root, "fetch_document", {"doc_id": "contract-2291"}, document, ms=350)
    answer = "Clause 1 (Definitions): ... Clause 2 (Term): ... Clause 3 (Pricing): the supplier may adjust prices quarterly provided that"
    builder.llm(root, question, answer=answer, finish="length", tokens=(9800, 1024), model="gpt-4o", ms=6200, step=1)
    builder.close(root, 10, **{"output.value": answer})


def _missing_stop(builder: _TraceBuilder) -> None:
    question = "Should ticket 9912 be escalated to a human?"
    root = builder.open("escalation_check", "AGENT", None, {"input.value": question, "agent.name": "escalation_agent"})
    ticket = '{"ticket_id": "9912", "customer_sentiment": "angry", "waiting_days": 6, "sla": "escalate to a human after 5 days"}'
    builder.tool(root, "get_ticket", {"ticket_id": "9912"}, ticket, ms=150)
    builder.llm(root, question, answer="Yes: the customer has waited 6 days and is angry; escalate.", finish=None, tokens=(455, 19), step=1)
    builder.close(root, 10)


def _handoff(builder: _TraceBuilder) -> None:
    question = "I was charged twice on invoice INV-1042, can you check?"
    root = builder.open("triage_handoff", "AGENT", None, {"input.value": question})
    triage = builder.open("triage_agent", "AGENT", root, {"agent.name": "triage_agent", "graph.node.id": "triage_agent"})
    builder.llm(triage, question, calls=[("transfer_to_billing_agent", {})], finish="tool_calls", model="gpt-4.1", tokens=(142, 18))
    builder.tool(triage, "handoff to billing_agent", "triage_agent", "billing_agent", ms=5)
    builder.close(triage, 5)
    billing = builder.open("billing_agent", "AGENT", root, {"agent.name": "billing_agent", "graph.node.id": "billing_agent", "graph.node.parent_id": "triage_agent"})
    builder.llm(billing, question, calls=[("lookup_invoice", {"invoice_id": "INV-1042"})], finish="tool_calls", model="gpt-4.1", tokens=(236, 22))
    builder.tool(billing, "lookup_invoice", {"invoice_id": "INV-1042"}, '{"charges": [49.0, 49.0], "date": "2026-01-03"}', ms=120)
    answer = "Invoice INV-1042 shows two charges of $49.00 on 2026-01-03. Shall I refund the duplicate?"
    builder.llm(billing, question, answer=answer, model="gpt-4.1", tokens=(318, 41))
    builder.close(billing, 5)
    builder.close(root, 5, **{"output.value": answer})


SCENARIOS: list[tuple[str, Callable[[_TraceBuilder], None]]] = [
    ("refund_request", lambda b: _refund(b, "missed")),
    ("refund_request", lambda b: _refund(b, "found")),
    ("triage_handoff", _handoff),
    ("order_status", _order_status),
    ("policy_research", _policy_loop),
    ("summarize_contract", _truncated),
    ("escalation_check", _missing_stop),
    ("refund_request", lambda b: _refund(b, "skipped")),
]


def demo_requests(start_ns: int | None = None, stagger_ms: float = 700) -> list[dict[str, Any]]:
    """One OTLP/JSON `ExportTraceServiceRequest` per scenario trace, starting `stagger_ms` apart."""
    start = start_ns if start_ns is not None else time.time_ns()
    requests = []
    for number, (name, build) in enumerate(SCENARIOS, 1):
        builder = _TraceBuilder(name, number, start + int((number - 1) * stagger_ms * MS))
        build(builder)
        requests.append(
            {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [_attr("service.name", SERVICE)]},
                        "scopeSpans": [{"scope": {"name": "orchtui.demo"}, "spans": builder.spans}],
                    }
                ]
            }
        )
    return requests


def demo_spans(start_ns: int | None = None) -> list[Span]:
    """All demo spans, parsed by the OTLP/JSON parser, in export order (by end time)."""
    spans = [span for request in demo_requests(start_ns) for span in spans_from_request(request, Source("demo"))]
    return sorted(spans, key=lambda s: s.end_ns or 0)


def write_demo_file(path: str) -> None:
    """The demo as a collector-style OTLP/JSON file (one request per line), e.g. to try `check` or `open`."""
    with open(path, "wb") as out:
        for request in demo_requests():
            out.write(orjson.dumps(request) + b"\n")


class DemoSource(SpanSource):
    """The demo as a live source: releases the demo's spans into the sink, compressed to about `seconds`, in the
    order an exporter sends them (a span is exported when it ends)."""

    kind = "demo"
    mode = FOLLOW

    def __init__(self, seconds: float = 6.0) -> None:
        super().__init__("demo", ["demo"])
        self.seconds = seconds

    def run(self, sink: SpanSink) -> None:
        spans = demo_spans()
        first = spans[0].end_ns or 0
        last = spans[-1].end_ns or first
        scale = self.seconds / max(1e-9, (last - first) / 1e9)
        began = time.monotonic()
        batch: list[Span] = []
        for span in spans:
            due = began + ((span.end_ns or first) - first) / 1e9 * scale
            delay = due - time.monotonic()
            if delay > 0.05 and batch:
                self._deliver(sink, batch)
                batch = []
            if delay > 0 and self.wait_stopped(delay):
                return
            batch.append(span)
        if batch:
            self._deliver(sink, batch)

    def _deliver(self, sink: SpanSink, batch: list[Span]) -> None:
        sink.add(batch)
        self.status.spans += len(batch)
