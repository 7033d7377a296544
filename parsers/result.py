"""What reading one input produced: spans, the records that could not be read, and what was skipped on purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .issues import collecting
from .span import ReadError, Span


class RecordSkipped(Exception):
    """Raised by a record parser for records that are valid but not spans (OTLP metric and log lines)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def describe(exc: BaseException) -> str:
    """A short, human message for a parse failure inside a record."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"


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

    def read_record(self, source: object, read: Callable[[], list[Span]]) -> None:
        """Read one record in isolation: its spans are kept, fields it held with the wrong type are reported (the
        record is kept with them unknown), and a record no parser rule expected costs itself only. `source` names
        the record (a Source or text): made into text only when there is something to report."""
        with collecting() as issues:
            try:
                spans = read()
            except RecordSkipped as skipped:
                self.skip(skipped.what)
                return
            except RecursionError:
                self.error(str(source), "unexpected record shape: values nested too deep")
                return
            except Exception as exc:  # noqa: BLE001 - one bad record costs nothing else
                self.error(str(source), f"unexpected record shape: {describe(exc)}")
                return
        self.spans.extend(spans)
        for issue in issues:
            self.error(str(source), issue)

    def merge(self, other: "ParseResult") -> None:
        self.spans.extend(other.spans)
        self.errors.extend(other.errors)
        for what, count in other.skipped.items():
            self.skip(what, count)
