"""The normalized trace view every evaluator reads (design/evaluators.md §8.0), built once per trace.

Ways in: from an analysed trace (the TUI and `orchtui eval`), from trace files, URLs or spans (`from_file`,
`from_url`, `from_spans`: one Trajectory per trace, through the same loading path as `orchtui check`), from OpenAI
chat messages (tests, notebooks, other tools' transcripts), from FutureAGI's AgentTrajectoryInput data
(`from_futureagi`), or from plain parts. Evaluators never look at spans or formats directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parsers.conventions import message_from_dict, normalize_stop_reason, parse_json_maybe
from parsers.span import ERROR, Message, Span, ToolCallRequest

from ..analysis import TraceAnalysis
from ..analysis.calls import ToolCall, canonical_json
from ..analysis.loops import RUNTIME_LIMIT


@dataclass
class LLMCall:
    span_id: str | None = None
    model: str | None = None
    input_messages: list[Message] = field(default_factory=list)
    output_messages: list[Message] = field(default_factory=list)
    finish_reasons_raw: tuple[str, ...] = ()
    finish_reason: str = "missing"  # normalized (§8.6)
    records_finish_reason: bool = True
    failed: bool = False  # the call itself failed (provider error): no finish reason to expect

    @property
    def stop_reason(self) -> str:
        return self.finish_reason

    @property
    def finish_reasons(self) -> tuple[str, ...]:
        return self.finish_reasons_raw

    @property
    def requested_tool_calls(self) -> list:
        return [call for message in self.output_messages for call in message.tool_calls]

    @property
    def output_text(self) -> str:
        return "\n".join(m.content for m in self.output_messages if m.content)


@dataclass
class Context:
    """A piece of text the agent was given: a tool result or a retrieved document (for grounding and injection)."""

    text: str
    span_id: str | None
    source: str  # "tool_result" | "retrieved_doc"
    name: str = ""


@dataclass
class Trajectory:
    tool_calls: list[ToolCall] = field(default_factory=list)
    llm_calls: list[LLMCall] = field(default_factory=list)
    user_input: str | None = None
    final_output: str | None = None
    system_prompt: str | None = None
    available_tools: list[str] | None = None
    tool_descriptions: dict[str, str] = field(default_factory=dict)  # name -> description, as declared (for the judge)
    contexts: list[Context] = field(default_factory=list)
    errored: bool = False  # the run (root or an agent-level span) failed
    error_message: str | None = None
    runtime_limit: str | None = None  # text of a MaxTurnsExceeded / recursion limit, when one fired
    finished: bool = True
    analysis: TraceAnalysis | None = None  # present when built from a trace: evaluators may reuse its findings
    # FutureAGI AgentTrajectoryInput data (normalised dict) when built from it: profile="futureagi" reads its steps.
    agent_input: dict[str, Any] | None = field(default=None, repr=False)
    # The transcript exactly as given to from_messages (every message, system ones and a trailing user turn
    # included): TrajectoryMatch strict compares it. None when built from a trace (the last LLM call's conversation
    # is the transcript then) or from parts.
    messages: list[Message] | None = field(default=None, repr=False)
    results: dict = field(default_factory=dict, repr=False, compare=False)  # evaluate()'s per-trajectory cache

    @property
    def trace_id(self) -> str | None:
        """The trace's id when built from a trace."""
        return self.analysis.trace_id if self.analysis is not None else None

    @property
    def name(self) -> str | None:
        """The trace's name (its root span's) when built from a trace."""
        return self.analysis.name if self.analysis is not None else None

    # -- constructors ---------------------------------------------------------------------------------------------

    @classmethod
    def from_trace(cls, analysis: TraceAnalysis) -> "Trajectory":
        llm_calls = [_llm_call(span) for span in analysis.llm_calls]
        tool_calls = [call for call in analysis.tool_calls if call.kind != "handoff"]
        root = analysis.tree.root
        first_inputs = llm_calls[0].input_messages if llm_calls else []
        user_input = next((m.content for m in first_inputs if m.role == "user" and m.content), None)
        if user_input is None and root is not None:
            user_input = root.input
        final_output = llm_calls[-1].output_text if llm_calls else None
        if not final_output and root is not None:
            final_output = root.output
        errors = [s for s in analysis.tree.ordered if s.status == ERROR and s.status_message]
        runtime = next((s.status_message for s in errors if RUNTIME_LIMIT.search(s.status_message or "")), None)
        declared = _declared_tools(analysis.llm_calls)
        return cls(
            tool_calls=tool_calls,
            llm_calls=llm_calls,
            user_input=user_input,
            final_output=final_output or None,
            system_prompt="\n".join(m.content for m in first_inputs if m.role == "system" and m.content) or None,
            available_tools=sorted(declared) or None,
            tool_descriptions={name: text for name, text in declared.items() if text},
            contexts=_contexts(tool_calls),
            errored=analysis.status == ERROR,
            error_message=errors[0].status_message if errors else None,
            runtime_limit=runtime,
            finished=not analysis.in_progress,
            analysis=analysis,
        )

    @classmethod
    def from_file(cls, paths: "str | os.PathLike[str] | Iterable[str | os.PathLike[str]]") -> list["Trajectory"]:
        """One Trajectory per trace in the files named: a file in any supported format, a directory (read
        recursively) or a glob, or a list of those; traces spread over several files are joined, oldest first.

        Loading is `orchtui check`'s (orchtui.loading.load_paths into a SpanStore, then the Analyzer). A path that
        matches nothing raises FileNotFoundError, a file with nothing readable in it ValueError; bad records inside
        a readable file are skipped, as `check` skips them."""
        from ..loading import load_paths
        from ..store import SpanStore

        names = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
        if not names:
            raise ValueError("Trajectory.from_file needs at least one path")
        store = SpanStore()
        report = load_paths(names, store)
        missing = [e for e in report.unreadable if not os.path.exists(e.source)]
        if missing:
            raise FileNotFoundError("; ".join(f"{e.source}: {e.message}" for e in missing))
        if report.unreadable:
            raise ValueError("; ".join(f"{e.source}: {e.message}" for e in report.unreadable))
        return _trajectories(store)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 30.0) -> list["Trajectory"]:
        """One Trajectory per trace in a trace file served over HTTP(S) (or a `file://` URL), read like
        `from_file`. The body is saved to a temporary file under the URL's own file name, so formats recognised
        by their suffix (`.otlp.pb`) are read as they would be from disk."""
        from urllib.parse import unquote, urlparse

        parsed = urlparse(url)
        if parsed.scheme == "file":
            return cls.from_file(unquote(parsed.path))
        if parsed.scheme not in ("http", "https"):
            raise ValueError(f"Trajectory.from_url reads http, https and file URLs, not {url!r}")
        import tempfile

        import httpx

        response = httpx.get(url, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        name = os.path.basename(unquote(parsed.path)) or "trace"
        with tempfile.TemporaryDirectory(prefix="orchtui-url-") as directory:
            path = os.path.join(directory, name)
            with open(path, "wb") as file:
                file.write(response.content)
            return cls.from_file(path)

    @classmethod
    def from_spans(cls, spans: Iterable[Span]) -> list["Trajectory"]:
        """One Trajectory per trace among normalized spans (parsers.span.Span), oldest first."""
        from ..store import SpanStore

        store = SpanStore()
        store.add(list(spans))
        return _trajectories(store)

    @classmethod
    def from_futureagi(cls, data: Any) -> "Trajectory":
        """FutureAGI's AgentTrajectoryInput (`fi.evals.metrics.agents`), as a dict or the pydantic object itself:
        `trajectory` (steps with tool calls, observation, is_final), `task`, `final_result`, `available_tools`.
        Each step's tool calls become tool calls (success=False -> status error), their results and the steps'
        observations become contexts, `task.description` the user input, `final_result` the final answer. No LLM
        calls are invented: stop reasons were not recorded. The data is kept for profile="futureagi"; its task
        (required tools, max steps, criteria) and expected result are the reference (`futureagi.reference_of`)."""
        from .futureagi import normalise_input

        data = normalise_input(data)
        calls: list[ToolCall] = []
        observations: list[Context] = []
        for step in data["trajectory"]:
            number = step["step_number"]
            for index, call in enumerate(step["tool_calls"], 1):
                calls.append(
                    ToolCall(
                        str(call["name"]),
                        call.get("arguments") or {},
                        "tool",
                        "ok" if call.get("success", True) else "error",
                        f"step-{number}.{index}",
                        result=_text(call.get("result")),
                        error=call.get("error"),
                    )
                )
            if step.get("observation"):
                observations.append(Context(str(step["observation"]), f"step-{number}", "tool_result", step.get("action") or f"step {number}"))
        final = data.get("final_result")
        return cls(
            tool_calls=calls,
            user_input=data["task"].get("description") or None,
            final_output=_text(final) or None,
            available_tools=list(data["available_tools"]) if data.get("available_tools") else None,
            contexts=_contexts(calls) + observations,
            agent_input=data,
        )

    @classmethod
    def from_messages(cls, messages: list[dict[str, Any]]) -> "Trajectory":
        """OpenAI chat messages: assistant tool calls (arguments as JSON strings or dicts) and tool results."""
        parsed = [m for m in (message_from_dict(item) for item in messages) if m is not None]
        results = {m.tool_call_id: m.content for m in parsed if m.role == "tool" and m.tool_call_id}
        tool_calls, llm_calls = [], []
        history: list[Message] = []
        for message in parsed:
            if message.role == "assistant":
                reason = "tool_calls" if message.tool_calls else "stop"
                llm_calls.append(
                    LLMCall(f"llm-{len(llm_calls) + 1}", None, list(history), [message], (reason,), reason)
                )
                for call in message.tool_calls:
                    result = results.get(call.id)
                    status = "ok" if result is not None else "unknown"
                    tool_calls.append(
                        ToolCall(call.name, call.arguments, "tool", status, f"tool-{len(tool_calls) + 1}", result=result, call_id=call.id)
                    )
            history.append(message)
        final = llm_calls[-1].output_text if llm_calls and not llm_calls[-1].requested_tool_calls else None
        return cls(
            tool_calls=tool_calls,
            llm_calls=llm_calls,
            user_input=next((m.content for m in parsed if m.role == "user"), None),
            final_output=final,
            system_prompt=next((m.content for m in parsed if m.role == "system"), None),
            contexts=[Context(text, None, "tool_result") for text in results.values() if text],
            messages=parsed,
        )

    @classmethod
    def from_parts(
        cls,
        tool_calls: list[dict[str, Any]] | None = None,
        llm_calls: list[dict[str, Any]] | None = None,
        user_input: str | None = None,
        final_output: str | None = None,
        **extra: Any,
    ) -> "Trajectory":
        """Plain dicts: tool calls {name, args, status, result}; LLM calls {finish_reason, output, tool_calls}."""
        calls = [
            ToolCall(
                str(c["name"]),
                parse_json_maybe(c.get("args")),
                c.get("kind", "tool"),
                c.get("status", "ok"),
                c.get("span_id") or f"tool-{index}",
                result=_text(c.get("result")),
                error=c.get("error"),
            )
            for index, c in enumerate(tool_calls or [], 1)
        ]
        llms = []
        for c in llm_calls or []:
            raw = c.get("finish_reason")
            requests = [
                ToolCallRequest(
                    str(t.get("name") or (t.get("function") or {}).get("name")),
                    parse_json_maybe(t.get("args", t.get("arguments", (t.get("function") or {}).get("arguments")))),
                    t.get("id"),
                )
                for t in c.get("tool_calls") or []
            ]
            llms.append(
                LLMCall(
                    span_id=c.get("span_id") or f"llm-{len(llms) + 1}",  # stable names for explanations
                    output_messages=[Message("assistant", c.get("output"), requests)],
                    finish_reasons_raw=(raw,) if raw else (),
                    finish_reason=normalize_stop_reason(raw),
                )
            )
        extra.setdefault("contexts", _contexts(calls))
        return cls(tool_calls=calls, llm_calls=llms, user_input=user_input, final_output=final_output, **extra)


def _trajectories(store) -> list[Trajectory]:
    """Every trace of a store, analysed as `orchtui check` analyses a finished file, oldest first."""
    from ..analysis import Analyzer

    analyses = sorted(Analyzer(store).all(), key=lambda a: (a.start_ns or 0, a.trace_id))
    return [Trajectory.from_trace(analysis) for analysis in analyses]


def _contexts(calls: list[ToolCall]) -> list[Context]:
    """Each call's result, named by its tool: what faithfulness grounds against and injection reads as indirect
    input. Hand-offs are left out (their "result" is the next agent's name)."""
    return [
        Context(call.result, call.span_id, "retrieved_doc" if call.kind == "retriever" else "tool_result", call.name)
        for call in calls
        if call.result and call.kind != "handoff"
    ]


def _text(value: Any) -> str | None:
    """A tool result as text: structured results (dicts, lists) as canonical JSON."""
    return value if value is None or isinstance(value, str) else canonical_json(value)


def _llm_call(span: Span) -> LLMCall:
    return LLMCall(
        span_id=span.span_id,
        model=span.model,
        input_messages=span.input_messages,
        output_messages=span.output_messages,
        finish_reasons_raw=span.finish_reasons,
        finish_reason=span.stop_reason or "missing",
        records_finish_reason=span.records_finish_reason,
        failed=span.status == ERROR,
    )


def _declared_tools(llm_spans: list[Span]) -> dict[str, str]:
    """Tool name -> description offered to the model (`llm.tools.N.tool.json_schema`, `gen_ai.tool.definitions`)."""
    declared: dict[str, str] = {}
    for span in llm_spans:
        for key, value in span.attributes.items():
            if key.startswith("llm.tools.") and key.endswith(".tool.json_schema"):
                _declare(declared, parse_json_maybe(value))
            elif key == "gen_ai.tool.definitions":
                definitions = parse_json_maybe(value)
                for item in definitions if isinstance(definitions, list) else []:
                    _declare(declared, item)
    return declared


def _declare(declared: dict[str, str], schema: Any) -> None:
    """One tool definition, OpenAI-style (`{"type": "function", "function": {...}}`) or flat."""
    if not isinstance(schema, dict):
        return
    function = schema.get("function") if isinstance(schema.get("function"), dict) else schema
    if function.get("name"):
        name = str(function["name"])
        declared[name] = declared.get(name) or str(function.get("description") or "")
