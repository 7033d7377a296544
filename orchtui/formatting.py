"""Compact human formats for durations, token counts and costs, shared by the CLI tables and the TUI."""

from __future__ import annotations


def format_duration(ms: float | None) -> str:
    if ms is None:
        return "…"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    return f"{ms / 60_000:.1f}m"


def format_cost(cost: float | None, complete: bool = True) -> str:
    if cost is None:
        return "–"
    if cost >= 100:
        text = f"${cost:,.0f}"
    elif cost >= 0.01 or cost == 0:
        text = f"${cost:.4f}"
    else:
        text = f"${cost:.6f}"
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
