"""What reading one input produced: spans, the records that could not be read, and what was skipped on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field

from .span import ReadError, Span


@dataclass(slots=True)
class ParseResult:
    format: str | None = None
    spans: list[Span] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # e.g. {"metric records": 40}: not errors, not spans

    def skip(self, what: str, count: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + count

    def error(self, source: str, message: str) -> None:
        self.errors.append(ReadError(source, message))

    def merge(self, other: "ParseResult") -> None:
        self.spans.extend(other.spans)
        self.errors.extend(other.errors)
        for what, count in other.skipped.items():
            self.skip(what, count)
