"""Generated batches of agent traces whose route facts are known by construction, for the route tests.

Each trace is built from a plan (LLM calls, tools, retrievers, hand-offs, sub-agents) plus random decorations
(tool errors, some of them timeouts, retried calls, a repeated-call loop, a truncated final answer, a failed run),
analysed by the real engine, and returned with a `Truth`: what the generator put in, computed here without the
routes module, so tests can compare RouteBook's numbers with a naive reference over the truths.

Costs are multiples of 1/4096 dollar and durations whole microseconds, so sums and means are exact in floats and
a reference can compare with `==`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from orchtui.analysis import TraceAnalysis
from parsers.span import AGENT, ERROR, HANDOFF, OK, RETRIEVER, TOOL, Tokens
from tests.spans import analyse, llm, span

UNPRICED_MODEL = "in-house-model-7"

# family -> [(weight, plan)]; a plan item is ("llm", model), ("tool" | "retriever" | "handoff", name, repeats)
# or ("agent", name, [items]). The last refund plan is the expensive fallback branch: bigger model, slower.
FAMILIES: dict[str, list[tuple[float, list]]] = {
    "refund_request": [
        (0.55, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", 1), ("llm", "gpt-4o-mini"), ("tool", "issue_refund", 1), ("llm", "gpt-4o")]),
        (0.30, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", 1), ("retriever", "retrieve_policy", 1), ("llm", "gpt-4o-mini"), ("tool", "issue_refund", 1), ("llm", "gpt-4o")]),
        (0.15, [("llm", "gpt-4o-mini"), ("tool", "lookup_order", 1), ("agent", "escalation_agent", [("llm", "gpt-4.1"), ("tool", "review_case", 2), ("llm", "gpt-4.1")]), ("llm", "gpt-4o")]),
    ],
    "triage": [
        (0.7, [("agent", "triage_agent", [("llm", "gpt-4.1"), ("handoff", "handoff to billing_agent", 1)]), ("agent", "billing_agent", [("llm", "gpt-4.1"), ("tool", "lookup_invoice", 1), ("llm", "gpt-4.1")])]),
        (0.3, [("agent", "triage_agent", [("llm", "gpt-4.1-mini"), ("handoff", "handoff to billing_agent", 1)]), ("agent", "billing_agent", [("llm", "gpt-4.1-mini"), ("tool", "lookup_invoice", 1), ("llm", "gpt-4.1-mini")])]),
    ],
    "research": [
        (0.4, [("llm", "gpt-4o-mini"), ("retriever", "search_docs", 1), ("llm", "gpt-4o-mini")]),
        (0.4, [("llm", "gpt-4o-mini"), ("retriever", "search_docs", 3), ("llm", "gpt-4o-mini")]),
        (0.2, [("llm", "gpt-4o-mini"), ("retriever", "search_docs", 2), ("tool", "web_search", 1), ("llm", "gpt-4o")]),
    ],
    # No tool calls, no token counts, a model with no price: the numbers that cannot be measured are None.
    "summarize": [(1.0, [("llm", UNPRICED_MODEL)])],
}
# The escalation branch's steps are slow, and gpt-4.1 calls cost more: the expensive branches of their families.
SLOW_AGENTS = {"escalation_agent": 4.0}
PRICE_SCALE = {"gpt-4.1": 6}


@dataclass(frozen=True)
class Truth:
    trace_id: str
    family: str
    path: tuple[tuple[str, str, int], ...]  # (key, label, count): consecutive repeats collapsed
    start_ns: int
    duration_ms: float
    tokens: int | None
    cost_usd: float | None
    retries: int
    tool_calls: int
    tool_errors: int
    timeouts: int
    loop: bool
    stop_problem: bool
    success: bool
    models: tuple[str, ...]

    @property
    def path_text(self) -> str:
        return " > ".join(label if count == 1 else f"{label} x{count}" for _, label, count in self.path) or "(no steps)"


class _Run:
    """Lays out one trace: steps one after another on a clock, each sub-agent starting with its first step."""

    def __init__(self, rng: random.Random, trace_id: str, family: str, start_ns: int) -> None:
        self.rng = rng
        self.trace_id = trace_id
        self.family = family
        self.clock = start_ns
        self.start_ns = start_ns
        self.spans: list = []
        self.keys: list[tuple[str, str]] = []  # (key, label) per step, in order
        self.tokens: int | None = None
        self.cost: float | None = None
        self.retries = self.tool_calls = self.tool_errors = self.timeouts = 0
        self.models: list[str] = []
        self.step_us = 1000
        self.ids = 0

    def new_id(self) -> str:
        self.ids += 1
        return f"{self.trace_id}-s{self.ids}"

    def advance(self) -> tuple[int, int]:
        jitter = self.rng.randint(0, self.step_us)
        start, end = self.clock, self.clock + (self.step_us + jitter) * 1000
        self.clock = end
        return start, end

    def llm(self, parent: str, model: str, *, calls=(), finish: str = "stop") -> None:
        start, end = self.advance()
        fields = {}
        if model != UNPRICED_MODEL:
            prompt, completion = self.rng.randint(100, 3000), self.rng.randint(5, 400)
            fields["tokens"] = Tokens(prompt=prompt, completion=completion, total=prompt + completion)
            fields["cost_usd"] = self.rng.randint(1, 400) * PRICE_SCALE.get(model, 1) / 4096
            self.tokens = (self.tokens or 0) + prompt + completion
            self.cost = (self.cost or 0.0) + fields["cost_usd"]
        if calls and finish == "stop":
            finish = "tool_calls"
        self.spans.append(
            llm(parent, model=model, calls=list(calls), finish=(finish,), trace=self.trace_id, span_id=self.new_id(), start=start, end=end, **fields)
        )
        self.keys.append((f"llm:{model}", f"llm:{model}"))
        if model not in self.models:
            self.models.append(model)

    def call(self, parent: str, kind: str, name: str, args: dict, *, error: str | None = None) -> None:
        start, end = self.advance()
        self.spans.append(
            span(
                name, parent, kind=kind, trace=self.trace_id, span_id=self.new_id(), start=start, end=end,
                status=ERROR if error else OK, status_message=error, tool_name=None if kind == HANDOFF else name,
                tool_args=args, output=None if error else f"result {self.ids} of {name}",
            )
        )
        self.tool_calls += 1
        self.tool_errors += error is not None
        self.timeouts += error is not None and "timed out" in error
        self.keys.append((f"{kind}:{name}", name if kind == TOOL else f"{kind}:{name}"))

    def agent(self, parent: str, name: str, items: list) -> None:
        span_id = self.new_id()
        first = len(self.spans)
        start = self.clock
        self.keys.append((f"agent:{name}", f"agent:{name}"))
        slow = SLOW_AGENTS.get(name)
        previous = self.step_us
        if slow:
            self.step_us = int(self.step_us * slow)
        self.items(span_id, items)
        self.step_us = previous
        agent = span(name, parent, kind=AGENT, trace=self.trace_id, span_id=span_id, start=start, end=self.clock, agent_name=name)
        self.spans.insert(first, agent)

    def items(self, parent: str, items: list) -> None:
        """Each tool-like item follows the LLM call that asked for it; errors, timeouts and retries are random."""
        for index, item in enumerate(items):
            kind = item[0]
            if kind == "llm":
                following = items[index + 1] if index + 1 < len(items) else None
                asks = following is not None and following[0] in (TOOL, RETRIEVER, HANDOFF)
                self.llm(parent, item[1], calls=[(following[1], {})] if asks else ())
            elif kind == "agent":
                self.agent(parent, item[1], item[2])
            else:
                for repeat in range(item[2]):
                    args = {"query": f"{item[1]} {repeat} {self.rng.random()}"}
                    if kind == TOOL and self.rng.random() < 0.08:
                        error = "TimeoutError: upstream timed out" if self.rng.random() < 0.5 else "ValueError: bad id"
                        self.call(parent, kind, item[1], args, error=error)
                        if self.rng.random() < 0.5:
                            self.call(parent, kind, item[1], args)  # the retry: same name and arguments
                            self.retries += 1
                    else:
                        self.call(parent, kind, item[1], args)


def _collapse(keys: list[tuple[str, str]]) -> tuple[tuple[str, str, int], ...]:
    path: list[list] = []
    for key, label in keys:
        if path and path[-1][0] == key:
            path[-1][2] += 1
        else:
            path.append([key, label, 1])
    return tuple(tuple(step) for step in path)


def generated_trace(rng: random.Random, trace_id: str, family: str, start_ns: int) -> tuple[TraceAnalysis, Truth]:
    plans = FAMILIES[family]
    plan = rng.choices([p for _, p in plans], weights=[w for w, _ in plans])[0]
    run = _Run(rng, trace_id, family, start_ns + 1000)
    root_id = f"{trace_id}-root"
    run.items(root_id, plan)
    loop = family == "research" and rng.random() < 0.1
    if loop:  # the same search three times (a repeated-call loop), then an answer
        for _ in range(3):
            run.llm(root_id, "gpt-4o-mini", calls=[("search_docs", {})])
            run.call(root_id, RETRIEVER, "search_docs", {"query": "the same question"})
        run.llm(root_id, "gpt-4o-mini")
    stop_problem = rng.random() < 0.06
    if stop_problem:  # the final answer was cut off at the token limit
        final = run.spans[-1]
        final.finish_reasons, final.stop_reason = ("length",), "length"
    success = rng.random() >= 0.07
    end = run.clock + 1000
    root = span(family, None, kind=AGENT, trace=trace_id, span_id=root_id, start=start_ns, end=end, status=OK if success else ERROR)
    analysis = analyse(root, *run.spans)
    truth = Truth(
        trace_id=trace_id,
        family=family,
        path=_collapse(run.keys),
        start_ns=start_ns,
        duration_ms=round((end - start_ns) / 1e6, 3),
        tokens=run.tokens,
        cost_usd=run.cost,
        retries=run.retries,
        tool_calls=run.tool_calls,
        tool_errors=run.tool_errors,
        timeouts=run.timeouts,
        loop=loop,
        stop_problem=stop_problem,
        success=success,
        models=tuple(run.models),
    )
    return analysis, truth


def generated_batch(seed: int, traces: int = 300) -> list[tuple[TraceAnalysis, Truth]]:
    """`traces` traces over every family, start times a few apart with some ties (for ordering tests)."""
    rng = random.Random(seed)
    families = list(FAMILIES)
    batch = []
    for number in range(traces):
        family = rng.choices(families, weights=[4, 2, 3, 1])[0]
        start_ns = 1_700_000_000_000_000_000 + rng.randint(0, traces // 2) * 1_000_000_000
        batch.append(generated_trace(rng, f"trace-{seed}-{number:04d}", family, start_ns))
    return batch
