"""Findings: what the analysis flags on a trace, in dotted code families (`loop.repeated_call`, `retry`, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INFO = "info"
WARN = "warn"
CRITICAL = "critical"
SEVERITY_RANK = {INFO: 0, WARN: 1, CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    message: str
    span_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    def at_least(self, severity: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[severity]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "span_id": self.span_id}


def worst(findings: list[Finding]) -> str | None:
    """The highest severity among `findings`, or None."""
    if not findings:
        return None
    return max((f.severity for f in findings), key=SEVERITY_RANK.__getitem__)


def error_text(span: Any) -> str:
    """What a span says about its failure: the error status message and its exception events."""
    parts = []
    if span.status == "error" and span.status_message:
        parts.append(span.status_message)
    for event in span.events:
        if event.name == "exception":
            parts.append(f"{event.attributes.get('exception.type', '')}: {event.attributes.get('exception.message', '')}")
    return "\n".join(parts)


def first_line(text: str, limit: int = 200) -> str:
    """The headline of an error text: its first line, without a Python traceback glued onto it."""
    line = text.strip().split("Traceback (most recent call last)", 1)[0].split("\\n", 1)[0].strip()
    line = line.splitlines()[0] if line else text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
