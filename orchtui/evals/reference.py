"""What a run is compared against: expected calls, outputs, tool catalogues, budgets (all optional)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from parsers.conventions import parse_json_maybe


@dataclass
class Reference:
    expected_tool_calls: list[dict[str, Any]] | None = None  # [{"name", "args"?}]; [] means "no tool should run"
    expected_messages: list[dict[str, Any]] | None = None  # OpenAI chat format
    expected_output: str | None = None
    required_tools: list[str] | None = None
    allowed_tools: list[str] | None = None
    denied_tools: list[str] | None = None
    available_tools: list[str] | None = None
    optimal_steps: int | None = None
    max_steps: int | None = None
    success_criteria: list[str] | None = None
    goal: str | None = None

    @classmethod
    def of(cls, value: "Reference | dict[str, Any] | None") -> "Reference":
        if value is None:
            return cls()
        if isinstance(value, Reference):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown reference key(s) {', '.join(unknown)}; expected: {', '.join(sorted(known))}")
        return cls(**value)

    def expected_calls(self) -> list[tuple[str, Any, bool]] | None:
        """(name, parsed args, args given?) per expected call, from expected_tool_calls or expected_messages."""
        if self.expected_tool_calls is not None:
            return [
                (str(call["name"]), parse_json_maybe(call.get("args", call.get("arguments"))), "args" in call or "arguments" in call)
                for call in self.expected_tool_calls
            ]
        if self.expected_messages is not None:
            from .trajectory import Trajectory

            return [(c.name, c.args, True) for c in Trajectory.from_messages(self.expected_messages).tool_calls]
        return None
