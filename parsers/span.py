"""The normalized span: the one contract every parser returns and everything downstream reads.

Every wire format (OTLP JSON/protobuf, the SDK console exporter, LangSmith runs, OpenAI Agents SDK exports, ...)
and every attribute vocabulary (OpenInference, OTel GenAI, traceAI, Vercel AI, ...) is reduced to this shape, so
the store, the analysis, the evaluators and the UI never look at a producer-specific key again. The raw
attributes stay attached for the detail pane: in memory, or, once the span's trace is analysed, in the file the span
came from (`Span.evict_payload`, parsers/payloads.py: the payload fields read it back on first access).

Spans are built on hot ingest paths (hundreds of thousands per file) and a million of them stay in memory, so the
classes are slotted and the expensive parts (chat messages rebuilt from flattened attributes) are computed on first
access only. A span's fields are attributes as they read, but not all are slots of its own: the payload is one
`Payload` object (or EVICTED, when it is in the file), and the model-call fields one `ModelFacts` object that tool,
chain and agent spans (three in four) do without. Together they took a span from 320 to 200 bytes (plus ids and
times), which is what kept a 1M-span file under half its size in memory.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any, BinaryIO, Callable

# Step kinds, as plain strings so they serialize and compare cheaply.
LLM = "llm"
TOOL = "tool"
RETRIEVER = "retriever"
RERANKER = "reranker"
EMBEDDING = "embedding"
AGENT = "agent"
CHAIN = "chain"
GUARDRAIL = "guardrail"
EVALUATOR = "evaluator"
HANDOFF = "handoff"
OTHER = "other"
KINDS = (LLM, TOOL, RETRIEVER, RERANKER, EMBEDDING, AGENT, CHAIN, GUARDRAIL, EVALUATOR, HANDOFF, OTHER)

# Span status.
OK = "ok"
ERROR = "error"
UNSET = "unset"

# Normalized stop reasons (design/evaluators.md §8.6). None on non-LLM spans.
STOP_REASONS = ("stop", "tool_calls", "length", "content_filter", "error", "pause", "other", "missing")


@dataclass(slots=True)
class Tokens:
    """Token usage of one span. Every field is optional: producers report different subsets."""

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None

    def is_empty(self) -> bool:
        return self.prompt is None and self.completion is None and self.total is None

    def complete_total(self) -> None:
        """Fill `total` from prompt + completion when the producer left it out (OTel GenAI has no total key)."""
        if self.total is None and (self.prompt is not None or self.completion is not None):
            self.total = (self.prompt or 0) + (self.completion or 0)


@dataclass(slots=True)
class SpanEvent:
    """A timestamped span event; `exception` events carry exception.type/.message/.stacktrace attributes."""

    name: str
    time_ns: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolCallRequest:
    """A tool call an LLM asked for (not its execution): from output messages or a Responses payload."""

    name: str
    arguments: Any = None  # parsed JSON when it parses, else the raw string
    id: str | None = None


@dataclass(slots=True)
class Message:
    """One chat message, normalized across OpenAI, OpenInference, GenAI parts and LangChain shapes."""

    role: str
    content: str | None = None
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Source:
    """Where a record came from, for error reports and the detail pane: `file:line`, `file[index]` (the n-th
    element of a JSON array or message of a protobuf stream) or a request label.

    A record in a plain file (a line of a trace file, a request in the receiver's spool) also knows its byte
    `offset` and how to read it again: `reparse(file, source)` reads the record at the file's position and returns
    its spans. Its spans' payloads can then be dropped from memory and read back (parsers/payloads.py). One
    Source is shared by every span of its record.
    """

    name: str
    line: int | None = None
    index: int | None = None
    offset: int | None = None
    reparse: Callable[[BinaryIO, "Source"], list["Span"]] | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.name}:{self.line}"
        if self.index is not None:
            return f"{self.name}[{self.index}]"
        return self.name if self.offset is None else f"{self.name}@{self.offset}"  # a spooled request


@dataclass(slots=True)
class ReadError:
    """A record that could not be read. Reported with its source, never fatal for the rest of the input."""

    source: str
    message: str


MessagesLoader = Callable[["Span", bool], list[Message]]


@dataclass(slots=True, eq=False)
class Span:
    """One normalized span. Ids are opaque strings (hex lower-cased, `0x` stripped, protobuf bytes as hex).

    The fields declared as InitVar are still read and written as attributes: properties over the span's Payload
    (payload fields) or its ModelFacts (model-call fields), installed below the class.
    """

    trace_id: str
    span_id: str
    parent_id: str | None = None  # None: a root span
    name: str = ""
    kind: str = OTHER
    start_ns: int | None = None
    end_ns: int | None = None  # None while the span is still open
    status: str = UNSET
    status_message: str | None = None
    model: InitVar[str | None] = None  # the model-call fields (ModelFacts)
    provider: InitVar[str | None] = None
    tokens: InitVar[Tokens | None] = None
    cost_usd: InitVar[float | None] = None  # as reported by the producer; computed cost lives in the analysis
    tool_name: str | None = None
    tool_args: InitVar[Any] = None  # parsed when JSON, else the raw text (payload)
    tool_call_id: str | None = None
    finish_reasons: InitVar[tuple[str, ...]] = ()  # raw strings, in order
    stop_reason: InitVar[str | None] = None  # normalized (STOP_REASONS); None for non-LLM spans
    input: InitVar[str | None] = None  # payload
    output: InitVar[str | None] = None  # payload
    graph_step: int | None = None  # LangGraph superstep / Agents SDK turn / agent.trajectory.step
    graph_node: str | None = None
    session_id: str | None = None
    agent_name: str | None = None
    service: str | None = None
    scope: str | None = None  # the instrumentation scope (library) that wrote the span: who the producer is
    response_id: InitVar[str | None] = None  # the provider's response id: two spans of one request share it
    retry_attempt: int | None = None  # explicit retry marker (LangChain retry:attempt:N, retry events, resend count)
    records_finish_reason: InitVar[bool] = True  # False when the producer never records one (parsers/producers.py)
    stop_reason_inferred: InitVar[bool] = False  # the stop reason was inferred (requested tool calls, max tokens)
    events: InitVar[list[SpanEvent] | None] = None  # payload
    attributes: InitVar[dict[str, Any] | None] = None  # payload
    source: Source | None = None
    _payload: "Payload | _Evicted" = field(init=False, repr=False)
    _model: "ModelFacts | None" = field(init=False, repr=False, default=None)

    def __post_init__(  # the InitVars, in the order they are declared
        self,
        model: str | None,
        provider: str | None,
        tokens: Tokens | None,
        cost_usd: float | None,
        tool_args: Any,
        finish_reasons: tuple[str, ...],
        stop_reason: str | None,
        input: str | None,  # noqa: A002
        output: str | None,
        response_id: str | None,
        records_finish_reason: bool,
        stop_reason_inferred: bool,
        events: list[SpanEvent] | None,
        attributes: dict[str, Any] | None,
    ) -> None:
        self._payload = Payload(
            {} if attributes is None else attributes, [] if events is None else events, input, output, tool_args
        )
        if (
            model is not None or provider is not None or tokens is not None or cost_usd is not None or finish_reasons
            or stop_reason is not None or response_id is not None or not records_finish_reason or stop_reason_inferred
        ):
            self._model = ModelFacts(
                model, provider, tokens, cost_usd, finish_reasons, stop_reason, response_id, records_finish_reason,
                stop_reason_inferred,
            )

    def evict_payload(self) -> bool:
        """Drop the payload (attributes, events, input, output, tool arguments, messages) from memory when the
        record can be read back from its file; the next read of any of them restores all of them (parsers/payloads.py)."""
        source = self.source
        if source is None or source.offset is None or source.reparse is None:
            return False
        self._payload = EVICTED
        return True

    @property
    def payload_evicted(self) -> bool:
        return self._payload is EVICTED

    @property
    def payload(self) -> "Payload":
        """The payload, read back from the file if it was evicted."""
        payload = self._payload
        if payload is EVICTED:
            from .payloads import restore

            payload = restore(self)  # the restored object itself: another thread may evict the span meanwhile
        return payload

    @property
    def duration_ns(self) -> int | None:
        if self.start_ns is None or self.end_ns is None:
            return None
        return max(0, self.end_ns - self.start_ns)

    @property
    def is_open(self) -> bool:
        return self.end_ns is None

    def set_messages(self, input_messages: list[Message], output_messages: list[Message]) -> None:
        """Parsers that see structured messages (LangSmith, Agents SDK) set them directly."""
        payload = self.payload
        payload.input_messages = input_messages
        payload.output_messages = output_messages

    def set_messages_loader(self, loader: MessagesLoader) -> None:
        """Parsers whose messages hide in flattened attributes defer the rebuild until someone looks.

        The loader is called with `output=False` or `output=True`: the analysis reads every LLM call's response
        but rarely its (much larger) request, so the two halves load separately.
        """
        self.payload.messages_loader = loader

    @property
    def input_messages(self) -> list[Message]:
        payload = self.payload
        if payload.input_messages is None:
            loader = payload.messages_loader
            payload.input_messages = loader(self, False) if loader is not None else []
        return payload.input_messages

    @property
    def output_messages(self) -> list[Message]:
        payload = self.payload
        if payload.output_messages is None:
            loader = payload.messages_loader
            payload.output_messages = loader(self, True) if loader is not None else []
        return payload.output_messages

    @property
    def messages(self) -> list[Message]:
        """The whole transcript the producer recorded: the request's messages then the response's."""
        return self.input_messages + self.output_messages

    @property
    def requested_tool_calls(self) -> list[ToolCallRequest]:
        """Tool calls this (LLM) span's response asked for."""
        return [call for message in self.output_messages for call in message.tool_calls]

    @property
    def exception_events(self) -> list[SpanEvent]:
        return [event for event in self.events if event.name == "exception"]


class Payload:
    """What a span carries beyond its hot fields: attributes, events, input, output, tool arguments and chat
    messages. It is the bulk of a span's memory (attribute strings alone are about the size of the file), and what
    only the detail pane, the evaluators and exports read; one object, so a span whose payload went back to its
    file holds one reference (`Span.evict_payload`), not one a field."""

    __slots__ = ("attributes", "events", "input", "output", "tool_args", "input_messages", "output_messages", "messages_loader")

    def __init__(
        self,
        attributes: dict[str, Any],
        events: list[SpanEvent],
        input: str | None,  # noqa: A002
        output: str | None,
        tool_args: Any,
        input_messages: list[Message] | None = None,
        output_messages: list[Message] | None = None,
        messages_loader: MessagesLoader | None = None,
    ) -> None:
        self.attributes, self.events, self.input, self.output, self.tool_args = attributes, events, input, output, tool_args
        self.input_messages, self.output_messages, self.messages_loader = input_messages, output_messages, messages_loader


class _Evicted:
    """The value of a span's payload when its content is in the file, not in memory."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<in the file>"

    def __reduce__(self) -> str:
        return "EVICTED"  # one instance, also across a pickle (a worker process hands spans back: split_load.py)


EVICTED = _Evicted()

PAYLOAD_FIELDS = ("attributes", "events", "input", "output", "tool_args")


def _payload_property(name: str) -> property:
    """`span.<name>` reads and writes the payload's field, reading the payload back from the file first if needed."""
    get, put = Payload.__dict__[name].__get__, Payload.__dict__[name].__set__

    def read(span: Span) -> Any:
        return get(span.payload)

    def write(span: Span, value: Any) -> None:
        put(span.payload, value)

    read.__doc__ = f"The span's {name} (payload: read back from the file if it was evicted)."
    return property(read, write)


for _name in PAYLOAD_FIELDS:
    setattr(Span, _name, _payload_property(_name))
del _name


class ModelFacts:
    """The fields only a model call (an LLM, embedding or reranker span) carries, in one object that other spans
    do without: three spans in four are tools, chains and agents, and nine empty slots each cost them 72 bytes."""

    __slots__ = MODEL_FIELDS = (
        "model", "provider", "tokens", "cost_usd", "finish_reasons", "stop_reason", "response_id",
        "records_finish_reason", "stop_reason_inferred",
    )

    def __init__(
        self,
        model: str | None = None,
        provider: str | None = None,
        tokens: Tokens | None = None,
        cost_usd: float | None = None,
        finish_reasons: tuple[str, ...] = (),
        stop_reason: str | None = None,
        response_id: str | None = None,
        records_finish_reason: bool = True,
        stop_reason_inferred: bool = False,
    ) -> None:
        self.model, self.provider, self.tokens, self.cost_usd = model, provider, tokens, cost_usd
        self.finish_reasons, self.stop_reason, self.response_id = finish_reasons, stop_reason, response_id
        self.records_finish_reason, self.stop_reason_inferred = records_finish_reason, stop_reason_inferred


_NO_MODEL = ModelFacts()  # the defaults, read by spans that are not model calls


def _model_property(name: str) -> property:
    """`span.<name>` reads the span's ModelFacts, or the default when it has none; writing anything but the
    default gives the span its ModelFacts."""
    get, put = ModelFacts.__dict__[name].__get__, ModelFacts.__dict__[name].__set__
    default = get(_NO_MODEL)

    def read(span: Span) -> Any:
        facts = span._model
        return get(facts if facts is not None else _NO_MODEL)

    def write(span: Span, value: Any) -> None:
        facts = span._model
        if facts is None:
            if value is default or (value.__class__ is default.__class__ and value == default):
                return
            facts = span._model = ModelFacts()
        put(facts, value)

    read.__doc__ = f"The span's {name} (a model-call field: the default on spans that are not model calls)."
    return property(read, write)


for _name in ModelFacts.MODEL_FIELDS:
    setattr(Span, _name, _model_property(_name))
del _name
