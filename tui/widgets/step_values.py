"""The values of a step a user can copy (`c`) or open in a pager (`o`): ids, prompt, response, tool arguments,
attributes, the exception stack.

Each value carries its full text, never the detail pane's clipped prefix: the point of copying or paging is to get
what the pane could not show. The text is produced on demand (`text()`), so listing a step's hundred attributes
costs a label each, not a serialisation each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from parsers.span import Message, Span

@dataclass(frozen=True, slots=True)
class StepValue:
    key: str  # the letter that picks it in the menu ("" for attributes, picked with the cursor)
    label: str  # what the toast and the menu call it: "prompt", "attribute llm.model_name"
    text: Callable[[], str]


def as_text(value: Any) -> str:
    """A value as a person would paste it: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def transcript(messages: list[Message]) -> str:
    """Chat messages as plain text: `role (name):` then the content and any tool calls, a blank line between."""
    blocks = []
    for message in messages:
        header = message.role + (f" ({message.name})" if message.name else "") + (f" for call {message.tool_call_id}" if message.tool_call_id else "")
        lines = [header + ":"]
        if message.content:
            lines.append(message.content)
        for call in message.tool_calls:
            lines.append(f"→ {call.name}({as_text(call.arguments) if call.arguments is not None else ''})")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def step_values(span: Span, tab: str) -> list[StepValue]:
    """What `c`/`o` offer for a step, the ids first; on the Attrs tab every attribute follows, on Events the stack."""
    values = [
        StepValue("i", "step id", lambda: span.span_id),
        StepValue("t", "trace id", lambda: span.trace_id),
    ]
    if span.input_messages or span.input is not None:
        values.append(StepValue("p", "prompt", lambda: transcript(span.input_messages) if span.input_messages else span.input or ""))
    if span.output_messages or span.output is not None:
        values.append(StepValue("r", "response", lambda: transcript(span.output_messages) if span.output_messages else span.output or ""))
    if span.tool_args is not None:
        values.append(StepValue("a", "tool arguments", lambda: as_text(span.tool_args)))
    stacks = [event.attributes.get("exception.stacktrace") for event in span.events if event.attributes.get("exception.stacktrace")]
    if stacks:
        values.append(StepValue("s", "stack trace", lambda: "\n\n".join(str(stack) for stack in stacks)))
    if span.status_message:
        values.append(StepValue("x", "error message", lambda: span.status_message or ""))
    if tab == "attributes":
        values.extend(StepValue("", f"attribute {key}", _attribute(span, key)) for key in sorted(span.attributes))
    return values


def _attribute(span: Span, key: str) -> Callable[[], str]:
    return lambda: as_text(span.attributes[key])
