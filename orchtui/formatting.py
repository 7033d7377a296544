"""Compact human formats for durations, token counts and costs, shared by the CLI tables and the TUI."""

from __future__ import annotations

import math

# A glyph and a Rich style per span kind: the step tree, compare rows and compact route paths.
KIND_ICONS = {
    "llm": ("◆", "bold magenta"),
    "tool": ("▣", "bold cyan"),
    "retriever": ("⌕", "bold blue"),
    "reranker": ("⇅", "blue"),
    "embedding": ("≈", "blue"),
    "agent": ("●", "bold green"),
    "chain": ("○", "green"),
    "handoff": ("⇄", "bold yellow"),
    "guardrail": ("▲", "yellow"),
    "evaluator": ("✓", "yellow"),
    "other": ("·", "dim"),
}


def format_duration(ms: float | None) -> str:
    if ms is None:
        return "…"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    return f"{ms / 60_000:.1f}m"


def cost_decimals(costs) -> int:
    """Decimals for a cost, or for a column of costs: three significant digits of the smallest non-zero one
    (2 to 6 decimals; none from $100). One count for the whole column lines the costs up on the point, and a
    larger cost is never the shorter string (`$0.0347` beside `$0.003815` read as the smaller)."""
    smallest = min((abs(cost) for cost in costs if cost), default=None)
    if smallest is None:
        return 4
    if smallest >= 100:
        return 0
    return max(2, min(6, 2 - math.floor(math.log10(smallest))))


def format_cost(cost: float | None, complete: bool = True, decimals: int | None = None) -> str:
    """`$0.0347`; with `decimals` (from `cost_decimals` over a column) every cost of a column alike."""
    if cost is None:
        return "–"
    places = cost_decimals([cost]) if decimals is None else decimals
    text = f"${cost:,.{places}f}"
    return text if complete else f"≥{text}"


def format_tokens(prompt: int | None, completion: int | None) -> str:
    if prompt is None and completion is None:
        return "–"
    return f"{prompt or 0:,}/{completion or 0:,}"


def format_count(value: int | None) -> str:
    """12 -> "12", 12_345 -> "12.3k", 4_500_000 -> "4.5M": token totals in narrow columns."""
    if value is None:
        return "–"
    if value < 10_000:
        return f"{value:,}"
    if value < 1_000_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1_000_000:.1f}M"


def format_share(value: float | None) -> str:
    """A rate in 0..1 as a whole percent ("–" when it could not be measured, e.g. no tool calls)."""
    return "–" if value is None else f"{value:.0%}"


def format_latency(ms: float | None) -> str:
    """A statistic's duration: like format_duration, but "–" (not measured) rather than "…" (still running)."""
    return "–" if ms is None else format_duration(ms)


def format_ratio(value: float | None) -> str:
    """A per-trace mean such as retries per trace: 0.25, 2, 1.5."""
    return "–" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def format_cost_delta(value: float, decimals: int | None = None) -> str:
    return ("+" if value >= 0 else "-") + format_cost(abs(value), decimals=decimals)


def format_duration_delta(ms: float) -> str:
    return ("+" if ms >= 0 else "-") + format_duration(abs(ms))
