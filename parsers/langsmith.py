"""LangSmith runs: the SDK's ingest payload, a JSON list of runs, or JSON Lines of either.

Three layouts reach us: what the SDK posts to the batch endpoint (`{"post": [runs], "patch": [runs]}`: a run is
posted when it starts and patched when it ends), a JSON array of runs (an API export), and JSON Lines where each
line is a run or a whole ingest payload. A patch completes the posted run with the same id (end time, outputs,
error), so runs are merged by id before they become spans: within one record in `parse_record` (what a follower
feeds line by line) and across the whole input in `parse`.

Fields map as in reference/formats.md §5.1 and §7. Where the facts live differs by producer: wrapped OpenAI calls
keep them in `outputs.choices` and `outputs.usage_metadata`, LangChain chat models in `outputs.generations` and
`llm_output`, runs read back from the API in top-level token fields. Streaming runs (`wrap_openai` with
`stream=True`) need nothing special: the SDK reduces the chunks into the same `outputs` shape (finish reason in
`choices`, usage in `usage_metadata`) and the raw chunks stay behind as `new_token` events. Runs read back from
the API may carry their children's tokens and cost summed on parent runs, so usage is read on model runs only:
never counted twice.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any


from .conventions import (
    finish_reasons_from_payload,
    messages_from_json,
    messages_from_payload,
    model_from_payload,
    parse_json_maybe,
    retry_attempt_from_tags,
    stop_reason_of,
    to_float,
    to_int,
    to_text,
    tokens_from_usage,
)
from .jsonl import parse_lines_or_document
from .result import ParseResult
from .span import (
    AGENT,
    CHAIN,
    EMBEDDING,
    ERROR,
    LLM,
    OK,
    OTHER,
    RETRIEVER,
    TOOL,
    UNSET,
    Message,
    Source,
    Span,
    SpanEvent,
    Tokens,
)
from .values import iso_to_ns, normalize_id, to_ns

FORMAT = "langsmith"

RUN_TYPE_KINDS = {
    "llm": LLM,
    "chain": CHAIN,
    "tool": TOOL,
    "retriever": RETRIEVER,
    "embedding": EMBEDDING,
    "prompt": CHAIN,
    "parser": CHAIN,
}
MODEL_KINDS = (LLM, EMBEDDING)
# `session_id` on the run itself is the LangSmith project; a conversation is named in the metadata.
SESSION_METADATA_KEYS = ("thread_id", "session_id", "conversation_id")
# Run fields kept for the detail pane, under the names LangSmith's own OTel export uses where it has one.
RUN_ATTRIBUTES = (
    ("run_type", "langsmith.span.kind"),
    ("tags", "langsmith.span.tags"),
    ("session_name", "langsmith.trace.session_name"),
    ("dotted_order", "langsmith.dotted_order"),
    ("status", "langsmith.status"),
    ("error", "langsmith.error"),  # the whole stack trace; status_message keeps its first line
)


def parse(data: bytes, source_name: str) -> ParseResult:
    """A whole input: runs are collected and merged by id across all records, then turned into spans."""
    result = ParseResult(format=FORMAT)
    runs: dict[str, tuple[dict[str, Any], Source]] = {}

    def collect(record: Any, source: Source) -> list[Span]:
        for run in iter_runs(record):
            _merge(runs, run, source)
        return []

    parse_lines_or_document(data, source_name, collect, result)
    for run, source in runs.values():
        result.read_record(source, lambda: [span_from_run(run, source)])
    return result


def parse_record(record: Any, source: Source) -> list[Span]:
    """One decoded record (a run, a list of runs, or an ingest payload) -> spans, its patches merged in.

    A follower that meets a run's post and its patch on different lines gets the run twice under one id; the
    store keeps the later (patched) copy, which lacks the inputs but recovers its start from `dotted_order`.
    """
    runs: dict[str, tuple[dict[str, Any], Source]] = {}
    for run in iter_runs(record):
        _merge(runs, run, source)
    return [span_from_run(run, run_source) for run, run_source in runs.values()]


def iter_runs(record: Any) -> Iterator[dict[str, Any]]:
    """The runs in a record, posts before patches; `child_runs` nested by API reads are flattened."""
    if isinstance(record, list):
        for item in record:
            yield from iter_runs(item)
        return
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    if "post" in record or "patch" in record:
        for key in ("post", "patch"):
            yield from iter_runs(record.get(key) or [])
        return
    yield record
    yield from iter_runs(record.get("child_runs") or [])


def _merge(runs: dict[str, tuple[dict[str, Any], Source]], run: dict[str, Any], source: Source) -> None:
    """Index `run` by id; a run already seen is updated by the fields this one sets (a patch)."""
    if run.get("id") is None:
        raise ValueError("run without an id")
    key = str(run["id"])
    known = runs.get(key)
    if known is None:
        runs[key] = (run, source)
    else:
        runs[key] = ({**known[0], **{k: v for k, v in run.items() if v is not None}}, known[1])


def span_from_run(run: dict[str, Any], source: Source | None) -> Span:
    """One (merged) run -> Span."""
    span_id = normalize_id(run.get("id"))
    if span_id is None:
        raise ValueError("run without an id")
    lineage = _dotted_order(run.get("dotted_order"))
    parent = run.get("parent_run_id")
    extra = run.get("extra") or {}
    metadata = extra.get("metadata") or {}
    run_type = run.get("run_type")
    name = str(run.get("name") or run_type or "")
    kind = _kind(run_type, name, metadata)
    error = run.get("error")
    end_ns = to_ns(run.get("end_time"))
    span = Span(
        trace_id=normalize_id(run.get("trace_id")) or (normalize_id(lineage[0][1]) if lineage else span_id),
        span_id=span_id,
        parent_id=normalize_id(parent) if parent else (normalize_id(lineage[-2][1]) if len(lineage) > 1 else None),
        name=name,
        kind=kind,
        start_ns=to_ns(run.get("start_time")) or (_dotted_time(lineage[-1][0]) if lineage else None),
        end_ns=end_ns,
        source=source,
    )
    if error or run.get("status") == "error":
        span.status = ERROR
        span.status_message = next((line.strip() for line in str(error or "").splitlines() if line.strip()), None)
    else:
        span.status = OK if end_ns is not None else UNSET

    inputs = run.get("inputs")
    outputs = run.get("outputs")
    span.input = _text(inputs)
    span.output = _text(outputs)
    inputs = inputs if isinstance(inputs, dict) else {}
    outputs = outputs if isinstance(outputs, dict) else {}
    if kind in MODEL_KINDS:
        _model_fields(span, run, metadata, extra, inputs, outputs)
    elif kind == TOOL:
        _tool_fields(span, inputs, outputs)

    span.graph_step = to_int(metadata.get("langgraph_step"))
    node = metadata.get("langgraph_node")
    span.graph_node = str(node) if node is not None else None
    session = next((metadata[key] for key in SESSION_METADATA_KEYS if metadata.get(key) is not None), None)
    span.session_id = str(session) if session is not None else None
    agent = metadata.get("lc_agent_name") or (name if kind == AGENT else None)
    span.agent_name = str(agent) if agent else None
    events = [event for event in run.get("events") or () if isinstance(event, dict)]
    span.events = [_event(event) for event in events]
    span.retry_attempt = _retry_attempt(run.get("tags"), events)
    span.attributes = _attributes(run, metadata, extra)
    return span


def _kind(run_type: Any, name: str, metadata: dict[str, Any]) -> str:
    kind = RUN_TYPE_KINDS.get(str(run_type).lower()) if run_type else None
    if kind is None:  # a patch seen without its post has no run_type; a chat model run still names its model type
        return LLM if metadata.get("ls_model_type") else OTHER
    if kind == CHAIN and "agent" in name.lower():  # AgentExecutor, a LangGraph `agent` node, ...
        return AGENT
    return kind


def _model_fields(
    span: Span, run: dict[str, Any], metadata: dict[str, Any], extra: dict[str, Any], inputs: dict, outputs: dict
) -> None:
    params = extra.get("invocation_params") or {}
    model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name")
    span.model = str(model) if model else model_from_payload(outputs)
    provider = metadata.get("ls_provider")
    span.provider = str(provider) if provider else None
    span.tokens = _tokens(run, outputs)
    span.cost_usd = to_float(run.get("total_cost"))
    if span.kind == LLM:
        span.finish_reasons = finish_reasons_from_payload(outputs)
        span.stop_reason = stop_reason_of(span.finish_reasons)
        span.set_messages(_input_messages(inputs), messages_from_payload(outputs))


def _tokens(run: dict[str, Any], outputs: dict[str, Any]) -> Tokens | None:
    """The API's run fields, else the usage the SDK recorded in the outputs; all-zero counts mean 'not recorded'."""
    llm_output = outputs.get("llm_output")
    for usage in (
        run,
        outputs.get("usage_metadata"),  # wrap_openai, LangChain AIMessage
        outputs.get("usage"),  # a raw OpenAI response returned by a traceable function
        llm_output.get("token_usage") if isinstance(llm_output, dict) else None,  # older LangChain
        _generation_usage(outputs.get("generations")),  # LangChain LLMResult
    ):
        tokens = tokens_from_usage(usage)
        if tokens is not None and (tokens.total or tokens.prompt or tokens.completion):
            return tokens
    return None


def _generation_usage(generations: Any) -> Any:
    """`usage_metadata` of the first generation's serialized message (`generations[0][0].message.kwargs`)."""
    first = generations[0] if isinstance(generations, list) and generations else None
    first = first[0] if isinstance(first, list) and first else first
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        return None
    kwargs = message.get("kwargs")
    return (kwargs if isinstance(kwargs, dict) else message).get("usage_metadata")


def _input_messages(inputs: dict[str, Any]) -> list[Message]:
    messages = messages_from_json(inputs.get("messages"))
    prompts = inputs.get("prompts")  # completion-style LLM runs
    if not messages and isinstance(prompts, list):
        messages = [Message("user", prompt) for prompt in prompts if isinstance(prompt, str)]
    return messages


def _tool_fields(span: Span, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    """A tool run's name is the tool, `inputs.input` its arguments, `outputs.output` its result (or a ToolMessage)."""
    span.tool_name = span.name or None
    span.tool_args = _tool_args(inputs["input"]) if "input" in inputs else (inputs or None)
    if "output" not in outputs:
        return
    output = outputs["output"]
    kwargs = output.get("kwargs") if isinstance(output, dict) else None
    if isinstance(kwargs, dict):  # a serialized ToolMessage: the result is its content
        span.tool_call_id = to_text(kwargs.get("tool_call_id"))
        output = kwargs.get("content")
    span.output = to_text(output)


def _tool_args(value: Any) -> Any:
    """LangChain's tracer records a tool input as `str(tool_input)`: JSON, bare text, or a Python dict repr."""
    parsed = parse_json_maybe(value)
    if isinstance(parsed, str) and parsed.startswith(("{", "[")):
        try:
            return ast.literal_eval(parsed)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return parsed
    return parsed


def _event(event: dict[str, Any]) -> SpanEvent:
    kwargs = event.get("kwargs")
    attributes = kwargs if isinstance(kwargs, dict) else {k: v for k, v in event.items() if k not in ("name", "time")}
    return SpanEvent(name=str(event.get("name") or ""), time_ns=to_ns(event.get("time")), attributes=attributes)


def _retry_attempt(tags: Any, events: list[dict[str, Any]]) -> int | None:
    """`retry:attempt:N` tags (`Runnable.with_retry`), else LangChain's retry events on the run.

    A retry event is written in tenacity's `before_sleep`, naming the attempt that just failed: the run's last
    attempt is one more than the highest number seen.
    """
    attempt = retry_attempt_from_tags(tags) if tags else None
    if attempt is not None:
        return attempt
    failed = [
        number
        for event in events
        if event.get("name") == "retry"
        and isinstance(event.get("kwargs"), dict)
        and (number := to_int(event["kwargs"].get("attempt"))) is not None
    ]
    return max(failed) + 1 if failed else None


def _attributes(run: dict[str, Any], metadata: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    attributes = {name: run[key] for key, name in RUN_ATTRIBUTES if run.get(key)}
    attributes.update((f"langsmith.metadata.{key}", value) for key, value in metadata.items())
    if extra.get("invocation_params"):
        attributes["langsmith.invocation_params"] = extra["invocation_params"]
    return attributes


def _dotted_order(value: Any) -> list[tuple[str, str]]:
    """`dotted_order` -> [(start stamp, run id)], root first: segments `<%Y%m%dT%H%M%S%fZ><run id>` joined by dots."""
    if not isinstance(value, str):
        return []
    segments = []
    for segment in value.split("."):
        cut = segment.find("Z") + 1
        if cut:
            segments.append((segment[:cut], segment[cut:]))
    return segments


def _dotted_time(stamp: str) -> int | None:
    """`20241011T205823298773Z` -> Unix ns."""
    if len(stamp) != 22:
        return None
    s = stamp
    return iso_to_ns(f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}.{s[15:21]}Z")


def _text(value: Any) -> str | None:
    """Inputs/outputs as compact JSON text; empty ones (`{}` before a run's patch) as None."""
    return to_text(value) if value not in (None, {}, [], "") else None
