"""`orchtui routes clickhouse://…`: route statistics computed by ClickHouse, never by loading spans.

The SQL is generated from the same tables the parsers use (`parsers.conventions`: kind keys and values, model,
provider, token, cost, tool-name and agent-name keys), so it reads a row the way `apply_attributes` reads a span,
and follows the route definition of `orchtui/analysis/routes.py` and `steps.py` step by step:

1. per span: its kind, model, tool or agent name, failure, tokens and reported cost, from its attributes;
2. per trace (GROUP BY TraceId, the spans as arrays): the parent links resolved to array positions and followed up
   to `MAX_DEPTH` levels, which gives each span its ancestor chain. From it: the root (the earliest real root, else
   the earliest span whose parent never arrived), the steps in the tree's display order (depth first, siblings by
   start, then end: the chain of (start, end) keys from the top sorts exactly that way), the executed calls (tool,
   retriever and hand-off spans, without a retriever inside a tool and without a tool span that only relays a call
   to an inner tool span of the same name), the trace's status (the root failed, or an agent/chain/guardrail span
   failed and no later sibling of the same kind ended well), its duration (last end - first start), its tokens and
   cost over its model calls (a wrapper LLM span around several LLM spans is not a call; around one, the pair is
   one call when it is the same request, counted once, from the better-informed span) and embedding spans,
   each span's cost as reported or priced with the price bands Python derives for the models found (sent as a
   query parameter), and its executed calls, failed calls and timed-out calls;
3. per family (root span name): every trace's (route hash, numbers) as arrays, so each route's numbers and the rest
   of its family's (for the expensive-branch rule) come from one pass; percentiles are nearest rank, as in Python.

Three questions, in order: which vocabulary keys the window's spans carry (`vocabulary`: the distinct keys of the
map's key column, a cheap read), which (model, provider) pairs its model spans name (priced in Python), then the
routes. The SQL of the last two is generated for the keys present alone (a key no span has is '' and absent in
every row, so its branches are constants and are left out): a table written by one instrumentation plans and runs
the expressions of that one, not of every vocabulary. A span inserted between the questions with a key none had
before is read without it, as a model first seen then is not priced.

Attribute columns of the type JSON (the exporter's `json` schema option) store a dotted key as a path of nested
objects: the keys are asked of `JSONAllPaths`, and the map the expressions read (`fm`) is built from the
vocabulary keys present and the flattened tool-call keys the window holds (at most `MAX_CALL_KEYS`), each read as
the subcolumn of its path and written as the Map exporter writes it (arrays as JSON, numbers and booleans as text).

Where it differs from the Python definition: DEVIATIONS below, said in the README and in the output (`--json`:
`deviations`, `not_computed`); numbers it cannot compute are null / "–".
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import IO, Any

from parsers import conventions as cv
from parsers.span import AGENT, CHAIN, EMBEDDING, GUARDRAIL, HANDOFF, LLM, OTHER, RETRIEVER, TOOL

from .base import RemoteError
from .clickhouse import GRACE_S, TABLE, ClickHouseClient, ClickHouseURL, Schema, describe

MAX_CALL_KEYS = 256  # flattened tool-call keys of a JSON-typed attribute column read at most (each is a map entry)
MAX_DEPTH = 16  # ancestor levels followed per span (each level costs planning time and a pass over every trace's spans)
PERCENTILES = (50, 95, 99)

DEVIATIONS = (
    "requested tool calls (a trace with no tool spans: the calls each LLM asked for follow it) are read from "
    "flattened message keys (OpenInference, traceAI, OpenLLMetry) or an OpenAI choices payload in the output; "
    "Python also reads them from JSON message attributes (gen_ai.output.messages: LiteLLM) and other payloads",
    "LLM calls counted for tokens and cost: wrapper pairs are merged, but two overlapping sibling LLM spans of one "
    "request and request-building LLM spans are each counted (Python merges them)",
    f"spans nested deeper than {MAX_DEPTH} levels are ordered and classified from their top {MAX_DEPTH} ancestors; "
    "sibling spans with equal start and end are ordered by span id (Python: by arrival)",
    "a model named only in a LangChain generations payload is read from its first generation; a trace is in the "
    "window when its first span starts in it",
    "retries, loops and stop-reason problems need the whole trace's analysis: not computed (open a trace for them)",
)
NOT_COMPUTED = ("retries_per_trace", "loop_rate", "stop_problem_rate")


# -- SQL building blocks ------------------------------------------------------------------------------------------


def q(text: str) -> str:
    """A string literal for one of our own constants (attribute keys, kind names): never user input."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def arr(values) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


NO_COUNT = "CAST(NULL, 'Nullable(Int64)')"
NO_NAMES = "CAST([], 'Array(String)')"


@dataclass(frozen=True)
class Vocabulary:
    """The vocabulary's attribute keys (and flattened-key patterns) that the window's spans carry, asked of
    ClickHouse first (`vocabulary_sql`: the distinct keys, a cheap read of the map's key column). The SQL is
    generated for those alone: a key no span has reads as '' and is never present, so every expression over it
    is a constant and its branch is left out here instead of planned and run by ClickHouse. Results are those
    of the full SQL (`Vocabulary()`: every key, no question asked) for the spans the question saw."""

    keys: frozenset[str] | None = None  # None: every key
    patterns: frozenset[str] | None = None  # the flattened-key patterns some key matches (None: every one)
    exceptions: bool = True  # some span has an `exception` event
    call_keys: tuple[str, ...] = ()  # JSON-typed attributes: the flattened tool-call keys the window holds
    all_keys: str = "mapKeys(fm)"  # a span's every attribute key (`fm` of a JSON column holds only the keys read)

    def has(self, key: str) -> bool:
        return self.keys is None or key in self.keys

    def matches(self, pattern: str) -> bool:
        return self.patterns is None or pattern in self.patterns

    def attr(self, key: str) -> str:
        return f"fm[{q(key)}]" if self.has(key) else "''"

    def present(self, key: str) -> str | None:
        """`mapContains` for a key some span has; None for one no span has (the condition is false)."""
        return f"mapContains(fm, {q(key)})" if self.has(key) else None

    def first(self, keys) -> str:
        """The value of the first key present with a non-empty value (`conventions.gather`), else ''."""
        keys = [key for key in keys if self.has(key)]
        if not keys:
            return "''"
        if len(keys) == 1:
            return self.attr(keys[0])
        return "multiIf(" + ", ".join(f"{self.attr(k)} != '', {self.attr(k)}" for k in keys) + ", '')"


def lookup(expression: str, table: dict[str, str]) -> str:
    return f"transform({expression}, {arr(table)}, {arr(table.values())}, '')"


def any_of(conditions) -> str | None:
    """`a OR b …` over the conditions that can hold (None: none can)."""
    conditions = [condition for condition in conditions if condition is not None]
    return " OR ".join(conditions) if conditions else None


def relevant_keys() -> list[str]:
    """Every attribute key the span expressions read."""
    keys = {
        *cv.KIND_KEYS, *cv.EXTRA_KIND_VALUES, *cv.KIND_MARKER_KEYS, *cv.MODEL_KEYS, *cv.PROVIDER_KEYS, *cv.COST_KEYS,
        *cv.TOOL_NAME_KEYS, *cv.TOOL_ARGS_KEYS, *cv.OUTPUT_KEYS, *cv.AGENT_NAME_KEYS, *cv.FINISH_REASON_KEYS,
        *cv.RESPONSE_ID_KEYS, *cv.ERROR_TYPE_KEYS, *cv.ERROR_FLAG_KEYS, *cv.ERROR_MESSAGE_KEYS, *cv.INVOCATION_KEYS,
        "ai.operationId", "llm.request.type", "mcp.method.name", "gen_ai.tool.name", "tool.name", "gen_ai.request.model",
        "llm.model_name", "gen_ai.tool.type", "graph.node.id", *TIMEOUT_STATUS_KEYS,
    }
    for names in cv.TOKEN_KEYS.values():
        keys.update(names)
    return sorted(keys)


TIMEOUT_STATUS_KEYS = ("http.status_code", "http.response.status_code", "status_code", "error.type")
TIMEOUT_RE = r"(?i)timed?[\s_-]?out|deadline|\b(?:http|status|code)\b[\s:=]*(?:408|504)\b"
SNAPSHOT_RE = r"(?:[-@](?:\d{4}-?\d{2}-?\d{2}|\d{8}|latest|v\d+(?::\d+)?))+$"
_AGENT_RES = (("^invoke_agent .+$", "substring(name, 14)"), ("^[\\w.-]+\\.run$", "substring(name, 1, length(name) - 4)"),
              ("^agent_run \\[.+\\]$", "substring(name, 12, length(name) - 12)"))


def kind_sql(v: Vocabulary) -> str:
    """`conventions._kind`, then `apply_attributes`' own corrections (a hand-off tool, the synthetic model)."""
    branches = []
    for key, values in cv.EXTRA_KIND_VALUES.items():
        if v.has(key):
            branches.append(f"{lookup(f'upper({v.attr(key)})', values)} != '', {lookup(f'upper({v.attr(key)})', values)}")
    kind_keys = [key for key in cv.KIND_KEYS if v.has(key)]
    if kind_keys:
        from_keys = "multiIf(" + ", ".join(
            f"{lookup(f'upper({v.attr(k)})', cv.KIND_VALUES)} != '', {lookup(f'upper({v.attr(k)})', cv.KIND_VALUES)}" for k in kind_keys
        ) + ", '')"
        not_tools = [f"NOT {present}" for present in (v.present("tool.name"), v.present("gen_ai.tool.name")) if present]
        handoff_name = "(" + " AND ".join(["startsWith(name, 'handoff to ')", *not_tools]) + ")"
        branches.append(f"{from_keys} != '', if({from_keys} = {q(TOOL)} AND {handoff_name}, {q(HANDOFF)}, {from_keys})")
    if v.has("ai.operationId"):
        vercel = lookup(v.attr("ai.operationId"), dict(cv.VERCEL_OPERATION_KINDS))
        branches.append(f"{vercel} != '', {vercel}")
    if v.has("llm.request.type"):
        branches.append(f"{v.present('llm.request.type')}, {q(LLM)}")
    for key, kind in cv.KIND_MARKER_KEYS.items():
        if v.has(key):
            branches.append(f"{v.present(key)}, {q(kind)}")
    if v.has("mcp.method.name"):
        branches.append(f"{v.attr('mcp.method.name')} = {q(cv.MCP_TOOL_METHOD)}, {q(TOOL)}")
    for condition, kind in ((any_of([v.present("gen_ai.tool.name"), v.present("tool.name")]), TOOL),
                            (any_of([v.present("gen_ai.request.model"), v.present("llm.model_name")]), LLM)):
        if condition:
            branches.append(f"{condition}, {q(kind)}")
    if not branches:
        return q(OTHER)
    return "multiIf(" + ", ".join(branches) + f", {q(OTHER)})"


def strip_prefixes(expression: str, prefixes) -> str:
    for prefix in prefixes:
        expression = f"if(startsWith({expression}, {q(prefix)}), substring({expression}, {len(prefix) + 1}), {expression})"
    return expression


def span_columns(schema: Schema, with_events: bool, v: Vocabulary) -> list[list[str]]:
    """Level 1: one row per span, its facts as named columns (`raw_kind` before the tool/model corrections), in
    layers: each layer reads the one before as columns (ClickHouse inlines an alias at every use, and the vocabulary
    expressions are big)."""
    handoff_names = arr(sorted(cv.HANDOFF_TOOL_NAMES))
    tool_name_keys = v.first(cv.TOOL_NAME_KEYS)
    fallback_tool = f"trimBoth({strip_prefixes('name', ('execute_tool ', 'MCP send ', 'tools/call '))})"
    invocations = [key for key in cv.INVOCATION_KEYS if v.has(key)]
    requested = ("multiIf(" + ", ".join(f"JSONExtractString({v.attr(k)}, 'model') != '', JSONExtractString({v.attr(k)}, 'model')"
                                        for k in invocations) + ", '')") if invocations else "''"
    name_model = "multiIf(" + ", ".join(f"startsWith(name, {q(p)}), substring(name, {len(p) + 1})" for p in cv.MODEL_NAME_PREFIXES) + ", '')"
    generation = "JSONExtractString(output, 'generations', 1, 1, 'message', {}'response_metadata', 'model_name')"
    payload_model = (f"if(JSONHas(output, 'generations'), multiIf({generation.format(chr(39) + 'kwargs' + chr(39) + ', ')} != '', "
                     f"{generation.format(chr(39) + 'kwargs' + chr(39) + ', ')}, {generation.format('')} != '', {generation.format('')}, "
                     "JSONExtractString(output, 'llm_output', 'model_name')), JSONExtractString(output, 'model'))")
    args = v.first(cv.TOOL_ARGS_KEYS)
    unwrapped = ("if(JSONType(args, 'kwargs') = 'Object' AND arrayAll(x -> x IN ('args', 'kwargs', 'sanitize_inputs_outputs'), "
                 "JSONExtractKeys(args)) AND JSONExtractRaw(args, 'args') IN ('', '[]', 'null', 'false', '0', '\"\"', '{}'), "
                 "JSONExtractRaw(args, 'kwargs'), args)")
    target = "multiIf(" + ", ".join(
        f"trimBoth(JSONExtractString(uargs, {q(k)})) != '', trimBoth(JSONExtractString(uargs, {q(k)}))" for k in cv.HANDOFF_TARGET_ARGS
    ) + ", '')"
    result = "if(JSONType(output, 'response') = 'Object', JSONExtractRaw(output, 'response'), output)"
    outcome = (f"(kind1 IN ({q(TOOL)}, {q(HANDOFF)}) AND base != 'error' AND position(output, 'rror') > 0 AND ("
               f"lower(JSONExtractString(result, 'status')) = 'error' OR JSONExtractRaw(result, 'is_error') = 'true' "
               f"OR JSONExtractRaw(result, 'isError') = 'true'))")
    # every status key keeps its place (an absent one as ''): the timeout pattern sees the same separators
    status_values = "concat(" + ", '\\n', ".join(v.attr(k) for k in TIMEOUT_STATUS_KEYS) + ")"
    # never NULL (toInt64OrNull's NULL made `timed_out` NULL, and groupArray leaves NULLs out: `touts` lost its
    # alignment with the other per-trace arrays)
    int_status = any_of(f"toInt64OrZero({v.attr(k)}) IN (408, 504)" if v.has(k) else None for k in TIMEOUT_STATUS_KEYS) or "0"
    events = "0"
    if with_events and v.exceptions:
        kind = schema.columns.get("Events.Attributes", "")
        at = (lambda key: f"toString(at.`{key}`)") if _is_json(kind.removeprefix("Array(").removesuffix(")")) else (lambda key: f"at[{q(key)}]")
        events = (f"arrayExists((n, at) -> n = 'exception' AND match(concat({at('exception.type')}, '\\n', "
                  f"{at('exception.message')}), {q(TIMEOUT_RE)}), `Events.Name`, `Events.Attributes`)")
    agent_from_name = "multiIf(" + ", ".join(f"match(name, {q(pattern)}), {expr}" for pattern, expr in _AGENT_RES) + ", '')"
    token = {name: _count(v.first(keys)) for name, keys in cv.TOKEN_KEYS.items()}
    handoff_types = f"{v.attr('gen_ai.tool.type')} IN {arr(sorted(cv.HANDOFF_TOOL_TYPES))}" if v.has("gen_ai.tool.type") else "0"
    layers = [
        [
            "TraceId AS t", "SpanId AS id",
            ("ParentSpanId" if schema.has("ParentSpanId") else "''") + " AS pid",
            ("toString(SpanName)" if schema.has("SpanName") else "''") + " AS name",
            f"{schema.start_ns} AS s",
            f"if({schema.duration} BETWEEN 0 AND {1 << 62}, s + {schema.duration}, s) AS e",
            ("multiIf(upper(toString(StatusCode)) IN ('STATUS_CODE_ERROR', 'ERROR', '2'), 'error', "
             "upper(toString(StatusCode)) IN ('STATUS_CODE_OK', 'OK', '1'), 'ok', 'unset')" if schema.has("StatusCode") else "'unset'") + " AS base",
            ("StatusMessage" if schema.has("StatusMessage") else "''") + " AS message",
            f"{kind_sql(v)} AS raw_kind",
            f"{tool_name_keys} AS tool_keys",
            f"{v.first(cv.OUTPUT_KEYS)} AS output",
            f"{v.first(cv.MODEL_KEYS)} AS model_keys",
            f"{requested} AS requested_model", f"{name_model} AS name_model",
            f"{v.first(cv.PROVIDER_KEYS)} AS provider",
            f"{args} AS args",
            f"{v.first(cv.ERROR_TYPE_KEYS)} AS error_type", f"lower({v.first(cv.ERROR_FLAG_KEYS)}) AS error_flag",
            f"{v.first(cv.AGENT_NAME_KEYS)} AS agent_keys", f"{v.attr('graph.node.id')} AS node_id", f"{agent_from_name} AS agent_from_name",
            *(f"{expr} AS tok_{name}" for name, expr in token.items()),
            f"toFloat64OrNull({v.first(cv.COST_KEYS)}) AS cost_raw",
            f"{v.first(cv.RESPONSE_ID_KEYS)} AS response_id",
            f"{v.first(cv.FINISH_REASON_KEYS)} NOT IN ('', '[]') AS has_finish",
            f"concat({v.attr('error.message')}, '\\n', {status_values}) AS status_text",
            f"({int_status}) AS status_timeout",
            f"({events}) AS event_timeout",
            f"{handoff_types} AS handoff_type",
            f"{requested_calls_sql(v)} AS requested",
        ],
        [
            f"if(tool_keys != '', tool_keys, if(raw_kind = {q(TOOL)}, {fallback_tool}, '')) AS tool_name",
            f"if(model_keys != '', model_keys, if(raw_kind = {q(LLM)}, if(requested_model != '', requested_model, name_model), '')) AS model0",
            f"{unwrapped.replace('args', 'args')} AS uargs",
            f"{result} AS result",
            "if(isFinite(cost_raw), cost_raw, NULL) AS reported_cost",
            "if(agent_keys != '', agent_keys, if(node_id != '', node_id, agent_from_name)) AS agent0",
            "if(tok_total IS NOT NULL, tok_total, if(tok_prompt IS NULL AND tok_completion IS NULL, NULL, ifNull(tok_prompt, 0) + ifNull(tok_completion, 0))) AS tokens",
        ],
        [
            (f"multiIf(raw_kind = {q(TOOL)} AND (handoff_type OR lower(trimBoth(tool_name)) IN {handoff_names} OR "
             f"startsWith(lower(trimBoth(tool_name)), 'transfer_to_')), {q(HANDOFF)}, "
             f"raw_kind = {q(LLM)} AND model0 = {q(cv.SYNTHETIC_MODEL)}, {q(OTHER)}, raw_kind) AS kind1"),
            f"{target} AS target",
            "if(agent0 != '', agent0, name) AS agent_name",
        ],
        [
            f"if(kind1 = {q(LLM)} AND model0 = '', {payload_model}, model0) AS model",
            f"{outcome} AS outcome",
            (f"multiIf(kind1 = {q(HANDOFF)}, if(target != '', concat('handoff to ', target), name), "
             f"kind1 = {q(TOOL)}, if(tool_name != '', tool_name, name), name) AS call_name"),
        ],
        [
            "(base = 'error' OR outcome OR (base = 'unset' AND error_type != '') OR error_flag = 'true') AS failed",
            "4 * has_finish + 4 * (tok_prompt IS NOT NULL OR tok_completion IS NOT NULL) + 2 * (output != '') + (model != '') AS info",
        ],
        [
            (f"failed AND (match(concat(message, '\\n', status_text, '\\n', JSONExtractString(result, 'error_message'), '\\n', "
             f"JSONExtractString(result, 'error'), '\\n', JSONExtractString(result, 'message')), {q(TIMEOUT_RE)}) "
             f"OR status_timeout OR event_timeout) AS timed_out"),
        ],
    ]
    return layers


DIGITS = r"(\d+)"


def _call_key_pattern(prefix: str, call: str, name: str) -> str:
    """The regular expression of the `prefix.M.<call>N.<name>` keys (one of our own constants)."""
    p, c, n = (re.escape(part) for part in (prefix, call, name))
    return "^" + p + r"\d+\." + c + r"\d+\." + n + "$"


def _message_pattern(prefix: str) -> str:
    return "^" + re.escape(prefix) + r"\d+\."


FLAT_CALLS = tuple((_message_pattern(output_prefix), output_prefix, "message.tool_calls.", "tool_call.function.name")
                   for _, output_prefix in cv.FLAT_MESSAGE_PREFIXES)
OPENLLMETRY_CALLS = (cv.OPENLLMETRY_MESSAGE_PREFIXES[1], "tool_calls.", "name")
KEY_PATTERNS = tuple(dict.fromkeys([*(pattern for pattern, *_ in FLAT_CALLS), *(_call_key_pattern(*parts) for _, *parts in FLAT_CALLS),
                                    _call_key_pattern(*OPENLLMETRY_CALLS)]))


def _flat_calls(v: Vocabulary, prefix: str, call: str, name: str) -> str:
    """Tool-call names under `prefix.M.<call>N.<name>` keys of the full attribute map, by (M, N)."""
    pattern = _call_key_pattern(prefix, call, name)
    if not v.matches(pattern):
        return NO_NAMES
    p, c = (re.escape(part) for part in (prefix, call))
    message_index, call_index = q("^" + p + DIGITS), q(c + DIGITS)
    return (f"arrayMap(x -> x.3, arraySort(x -> (x.1, x.2), arrayMap(k -> (toUInt32OrZero(extract(k, {message_index})), "
            f"toUInt32OrZero(extract(k, {call_index})), fm[k]), arrayFilter(k -> startsWith(k, {q(prefix)}) AND match(k, {q(pattern)}), mapKeys(fm)))))")


def requested_calls_sql(v: Vocabulary) -> str:
    """The tool calls an LLM span's response asked for (`Span.requested_tool_calls`), from the flattened message
    keys (OpenInference, traceAI), else OpenLLMetry's `gen_ai.completion.M.tool_calls.N.name`, else an OpenAI
    chat-completion payload in the output (`choices[].message.tool_calls[].function.name`)."""
    branches = []
    for any_key, *parts in FLAT_CALLS:
        if v.matches(any_key):
            prefix = parts[0]  # the pattern's literal start: only keys that have it are matched
            branches.append(f"arrayExists(k -> startsWith(k, {q(prefix)}) AND match(k, {q(any_key)}), {v.all_keys}), {_flat_calls(v, *parts)}")
    openllmetry = _flat_calls(v, *OPENLLMETRY_CALLS)
    if openllmetry != NO_NAMES:
        branches.append(f"length({openllmetry}) > 0, {openllmetry}")
    output = v.first(cv.OUTPUT_KEYS)
    payload = NO_NAMES if output == "''" else (
        f"arrayFlatten(arrayMap(c -> arrayMap(tc -> JSONExtractString(tc, 'function', 'name'), "
        f"JSONExtractArrayRaw(c, 'message', 'tool_calls')), JSONExtractArrayRaw({output}, 'choices')))")
    return "multiIf(" + ", ".join(branches) + f", {payload})" if branches else payload


def _count(expression: str) -> str:
    """`conventions.to_count`: a whole number 0..MAX_COUNT read from a string (decimals cut), else NULL."""
    if expression == "''":
        return NO_COUNT
    number = f"toFloat64OrNull({expression})"
    return f"if({number} >= 0 AND {number} <= {cv.MAX_COUNT} AND isFinite({number}), toInt64({number}), NULL)"


# -- the query ----------------------------------------------------------------------------------------------------


def _window(url: ClickHouseURL, params: dict[str, Any]) -> str:
    """The rows looked at: the window and the grace before it (a trace is in when its first span is)."""
    where = "TraceId != ''"
    if url.since_s is not None:
        params["floor_s"] = url.since_s + GRACE_S
        where += " AND Timestamp >= now64(9) - toIntervalSecond({floor_s:UInt64})"
    return where


def _with_events(schema: Schema) -> bool:
    return schema.has("Events.Name") and schema.has("Events.Attributes")


def _is_json(kind: str) -> bool:
    """A column of ClickHouse's JSON type (`JSON`, `JSON(max_dynamic_paths = 256)`): dotted keys are nested paths."""
    return kind == "JSON" or kind.startswith("JSON(")


def _json_attributes(schema: Schema) -> bool:
    return _is_json(schema.columns.get("SpanAttributes", ""))


CALL_KEY_PATTERNS = tuple(_call_key_pattern(*parts) for _, *parts in FLAT_CALLS) + (_call_key_pattern(*OPENLLMETRY_CALLS),)
_CALL_KEYS = tuple(re.compile(pattern, re.ASCII) for pattern in CALL_KEY_PATTERNS)


def vocabulary_sql(schema: Schema, url: ClickHouseURL, params: dict[str, Any]) -> str:
    """Which vocabulary keys and flattened-key patterns the window's spans carry, and whether any has an
    `exception` event: one row, bounded by the vocabulary (never by the spans). The keys are read from the map's
    key column alone (a JSON-typed column: its paths, and the flattened tool-call keys themselves, at most
    MAX_CALL_KEYS)."""
    params["vocabulary"] = relevant_keys()
    kind = schema.columns.get("SpanAttributes", "")
    if kind.startswith("Map("):
        keys = "SpanAttributes.keys"
    elif _is_json(kind):
        keys = "JSONAllPaths(SpanAttributes)"
    else:
        keys = f"mapKeys({schema.attributes('SpanAttributes')})"
    exceptions = "max(has(`Events.Name`, 'exception'))" if _with_events(schema) else "0"
    matched = ", ".join(f"arrayExists(k -> match(k, {q(pattern)}), u)" for pattern in KEY_PATTERNS)
    calls = ""
    if _is_json(kind):
        calls = (", arraySlice(arraySort(arrayFilter(k -> " + " OR ".join(f"match(k, {q(p)})" for p in CALL_KEY_PATTERNS)
                 + f", u)), 1, {MAX_CALL_KEYS}) AS call_keys")
    return (f"SELECT arrayFilter(k -> has({{vocabulary:Array(String)}}, k), u) AS present, [{matched}] AS matched, exceptions{calls} "
            f"FROM (SELECT groupUniqArrayArray({keys}) AS u, {exceptions} AS exceptions FROM {TABLE} WHERE {_window(url, params)}) "
            "FORMAT JSONEachRow")


def vocabulary(client: ClickHouseClient, schema: Schema, url: ClickHouseURL) -> Vocabulary:
    params: dict[str, Any] = {"db": url.database, "table": url.table}
    rows = list(client.rows(vocabulary_sql(schema, url, params), params))
    json_keys = "JSONAllPaths(SpanAttributes)" if _json_attributes(schema) else "mapKeys(fm)"
    if not rows:
        return Vocabulary(frozenset(), frozenset(), False, all_keys=json_keys)
    row = rows[0]
    known = set(relevant_keys())
    keys = frozenset(str(key) for key in row.get("present") or () if str(key) in known)  # our own constants only
    matched = row.get("matched") or []
    patterns = frozenset(pattern for pattern, hit in zip(KEY_PATTERNS, matched) if hit)
    # keys from the store become SQL literals: only those made of our constants and digits (a call-key pattern)
    calls = tuple(key for key in row.get("call_keys") or () if isinstance(key, str) and any(p.fullmatch(key) for p in _CALL_KEYS))
    return Vocabulary(keys, patterns, bool(row.get("exceptions")), calls, json_keys)


def attribute_map(schema: Schema, v: Vocabulary) -> str:
    """`fm`, the span's attributes as Map(String, String). A Map column is itself; a JSON-typed one becomes the map
    of the keys read (the vocabulary keys present and the window's tool-call keys), each the subcolumn of its path
    when the span has it, written as the Map exporter writes values: arrays as JSON, the rest as text."""
    if not _json_attributes(schema):
        return schema.attributes("SpanAttributes")
    keys = dict.fromkeys([*sorted(relevant_keys() if v.keys is None else v.keys), *v.call_keys])
    if not keys:
        return "CAST(map(), 'Map(String, String)')"
    entries = []
    for key in keys:
        path = f"getSubcolumn(SpanAttributes, {q(key)})"
        entries.append(f"{q(key)}, if(isNull({path}), NULL, if(startsWith(dynamicType({path}), 'Array'), toJSONString({path}), toString({path})))")
    return f"CAST(mapFilter((k, x) -> x IS NOT NULL, map({', '.join(entries)})), 'Map(String, String)')"


def span_cost_sql() -> str:
    """A model or embedding span's cost: as reported, else priced from its tokens with the price bands Python
    derived for its (model, provider) (query parameters); NaN for none (groupArray leaves NULLs out)."""
    prompt, completion = "greatest(ifNull(tok_prompt, -1), 0)", "greatest(ifNull(tok_completion, -1), 0)"
    band = (f"arrayLast(b -> {prompt} > b[1], {{price_bands:Array(Array(Array(Float64)))}}"
            "[indexOf({price_keys:Array(String)}, concat(model, '\\x1f', provider))])")
    price = (f"arrayMap(b -> if(length(b) = 0, NULL, b[2] + {prompt} * b[3] + {completion} * b[4] + ifNull(tok_cache_read, 0) * b[5] "
             f"+ ifNull(tok_cache_write, 0) * b[6]), [{band}])[1]")
    return (f"ifNull(if(kind1 NOT IN ({q(LLM)}, {q(EMBEDDING)}), NULL, if(reported_cost IS NOT NULL, reported_cost, "
            f"if(model = '' OR NOT (tok_prompt IS NOT NULL OR tok_completion IS NOT NULL), NULL, {price}))), nan)")


def spans_sql(schema: Schema, url: ClickHouseURL, params: dict[str, Any], v: Vocabulary, priced: bool = False) -> str:
    """Level 1 over the window's rows (which traces are in the window is decided per trace, in `routes_sql`);
    `priced`: with each span's cost (the routes query, which has the price parameters)."""
    first_layer, *rest = span_columns(schema, _with_events(schema), v)
    sql = (f"SELECT {', '.join(first_layer)}\nFROM (SELECT *, {attribute_map(schema, v)} AS fm "
           f"FROM {TABLE} WHERE {_window(url, params)})")
    if priced:
        rest.append([f"{span_cost_sql()} AS span_cost"])
    for layer in rest:
        sql = f"SELECT *, {', '.join(layer)}\nFROM ({sql})"
    return sql


def models_sql(schema: Schema, url: ClickHouseURL, params: dict[str, Any], v: Vocabulary) -> str:
    """The (model, provider) pairs of the model and embedding spans in the rows looked at (a superset of the
    window's traces' pairs: an extra price is never used): what Python must price."""
    return (f"SELECT DISTINCT model, provider FROM ({spans_sql(schema, url, params, v)}) "
            f"WHERE kind1 IN ({q(LLM)}, {q(EMBEDDING)}) AND model != '' FORMAT JSONEachRow")


def _nearest(sorted_array: str, percent: int) -> str:
    return f"if(length({sorted_array}) = 0, NULL, {sorted_array}[toUInt64(greatest(1, intDiv({percent} * length({sorted_array}) + 99, 100)))])"


def trace_sql(schema: Schema, url: ClickHouseURL, params: dict[str, Any], v: Vocabulary) -> str:
    """Level 2 (module docstring): one row per trace in the window, its family, route hash and numbers.

    The spans' facts arrive as one array of tuples per trace (one groupArray: far cheaper than one per fact) and are
    taken apart by position. Lambdas walk the per-trace arrays side by side (`arrayMap((k, p) -> …, ks, p1)`): a
    lambda that indexes an array of its trace instead (`arrayMap(i -> ks[i], idx)`) makes ClickHouse copy that array
    once per element, so indexing is kept to small arrays (kind codes, flags) and to the spans that need it."""
    spans = spans_sql(schema, url, params, v, priced=True)
    having = ""
    if url.since_s is not None:  # a trace is in the window when its first span is
        params["cutoff_s"] = url.since_s
        having = " HAVING first_start >= toUnixTimestamp64Nano(now64(9) - toIntervalSecond({cutoff_s:UInt64}))"
    facts = {  # per-trace array -> the span's fact
        "ids": "id", "pids": "pid", "ss": "s", "es": "e", "ks": "kind1", "names": "name", "fs": "failed", "ms": "model",
        "cns": f"if(kind1 = {q(AGENT)}, agent_name, call_name)",  # a call's name; an agent's name
        "toks": "ifNull(tokens, -1)", "tps": "ifNull(tok_prompt, -1)", "tcs": "ifNull(tok_completion, -1)",
        "us": "tok_prompt IS NOT NULL OR tok_completion IS NOT NULL", "cs": "span_cost", "rids": "response_id", "infos": "info",
        "reqs": f"if(kind1 = {q(LLM)}, requested, [])", "touts": "timed_out",
    }
    per_trace = (f"SELECT t, groupArray(({', '.join(facts.values())})) AS facts, min(s) AS first_start, max(e) AS last_end\n"
                 f"FROM ({spans}) GROUP BY t{having}")
    levels = range(1, MAX_DEPTH + 1)
    p_args = ", ".join(f"a{level}" for level in levels)
    p_arrays = ", ".join(f"p{level}" for level in levels)
    kc_args = ", ".join(f"c{level}" for level in levels)
    kc_arrays = ", ".join(f"kc{level}" for level in levels)
    tool_code, llm_code = 1, 2

    def nearest(code: int) -> str:
        return "multiIf(" + ", ".join(f"c{level} = {code}, a{level}" for level in levels) + ", 0)"

    run_level = arr((AGENT, CHAIN, GUARDRAIL))
    calls = arr((TOOL, RETRIEVER, HANDOFF))
    # one request seen twice (an LLM span wrapping exactly one LLM span): a and b are (failed, response id, model,
    # model family, tokens known, prompt tokens, completion tokens, info) of the outer span and of its one child
    same = ("(a.1 = b.1 AND if(a.2 != '' AND b.2 != '', a.2 = b.2, "
            "(a.3 = '' OR b.3 = '' OR a.4 = b.4) AND if(a.5 AND b.5, a.6 = b.6 AND a.7 = b.7, 1)))")
    trace_layers = [
        [f"tupleElement(facts, {n}) AS {name}" for n, name in enumerate(facts, 1)],
        [
            "arrayEnumerate(ids) AS idx",
            "arrayMap(x -> indexOf(ids, x), pids) AS p1",
            *(f"arrayMap(x -> p1[x], p{level - 1}) AS p{level}" for level in levels[1:]),
            f"arrayMap(k -> multiIf(k = {q(TOOL)}, {tool_code}, k = {q(LLM)}, {llm_code}, 0), ks) AS kcode",
            "arrayMap(p -> p != '', pids) AS has_parent",
            f"arrayMap(m -> replaceRegexpOne(lower(splitByChar('/', m)[-1]), {q(SNAPSHOT_RE)}, ''), ms) AS fams",
        ],
        [
            *(f"arrayMap(x -> kcode[x], p{level}) AS kc{level}" for level in levels),  # each ancestor's kind code
            f"arrayMap(({p_args}) -> arrayFilter(x -> x != 0, [{p_args}]), {p_arrays}) AS chains",
            "arrayMap((d, a, s, e, id) -> (if(NOT d, 0, if(a = 0, 1, 2)), s, e, id), has_parent, p1, ss, es, ids) AS root_keys",
        ],
        [
            f"arrayMap(({p_args}, {kc_args}) -> {nearest(tool_code)}, {p_arrays}, {kc_arrays}) AS tool_parent",
            f"arrayMap((k, {p_args}, {kc_args}) -> if(k = {llm_code}, {nearest(llm_code)}, 0), kcode, {p_arrays}, {kc_arrays}) AS llm_parent",
            "arrayMap((c, i) -> if(length(c) = 0, i, c[-1]), chains, idx) AS tops",
            "arraySort((i, k) -> k, idx, root_keys)[1] AS root",
        ],
        [
            f"arrayFilter((tp, k, cn) -> k = {q(TOOL)} AND tp != 0 AND cns[tp] = cn, tool_parent, ks, cns) AS relayed",
            f"arrayMap((k, i) -> if(k = {q(LLM)}, countEqual(llm_parent, i), 0), ks, idx) AS nested",
        ],
        [
            f"arrayMap((k, i, tp) -> k IN {calls} AND NOT has(relayed, i) AND NOT (k = {q(RETRIEVER)} AND tp != 0), ks, idx, tool_parent) AS executed",
            "arrayMap((n, i) -> if(n = 1, indexOf(llm_parent, i), 0), nested, idx) AS only_child",
            (f"fs[root] OR arrayExists(i -> NOT arrayExists(j -> ks[j] IN {run_level} AND pids[j] = pids[i] AND NOT fs[j] "
             f"AND ss[j] >= es[i], idx), arrayFilter((i, k, f) -> k IN {run_level} AND f, idx, ks, fs)) AS trace_failed"),
        ],
        [
            "arrayExists(x -> x, executed) AS any_executed",
            "arrayExists(n -> n > 0, nested) AS wrapped",  # some LLM span holds another: the rest of the traces skip the pairs
            "if(wrapped, arrayZip(fs, rids, ms, fams, us, tps, tcs, infos), []) AS llm_facts",
        ],
        [
            "if(wrapped, arrayMap(x -> llm_facts[x], only_child), []) AS child_facts",
        ],
        [
            f"if(wrapped, arrayMap((n, a, b) -> n = 1 AND {same}, nested, llm_facts, child_facts), []) AS same_as_child",
        ],
        [
            ("if(wrapped, arrayMap((n, sc, a, b) -> n > 1 OR (n = 1 AND sc AND a.8 <= b.8), nested, same_as_child, llm_facts, child_facts), "
             "arrayMap(x -> 0, idx)) AS drop_outer"),
            ("if(wrapped, arrayMap((p, i) -> p != 0 AND nested[p] = 1 AND same_as_child[p] AND infos[p] > i, llm_parent, infos), "
             "arrayMap(x -> 0, idx)) AS drop_inner"),
        ],
        [
            (f"arrayMap((i, k, m, r, x, cn) -> multiIf(k = {q(LLM)}, arrayConcat([({q(LLM)}, if(m = '', '?', m))], if(any_executed, [], "
             f"arrayMap(c -> ({q(TOOL)}, c), r))), x, [(k, cn)], k = {q(AGENT)} AND i != root, [({q(AGENT)}, cn)], []), "
             "idx, ks, ms, reqs, executed, cns) AS step_of"),
            f"arrayMap((k, o, n) -> (k = {q(LLM)} AND NOT o AND NOT n) OR k = {q(EMBEDDING)}, ks, drop_outer, drop_inner) AS counted",
        ],
        [
            "arrayFilter((i, st) -> length(st) > 0, idx, step_of) AS step_idx",
            "arrayMap((c, n) -> if(c AND n >= 0, n, NULL), counted, toks) AS counted_tokens",
            "arrayMap((c, x) -> if(c AND NOT isNaN(x), x, NULL), counted, cs) AS costs",
            "arrayZip(ss, es, ids) AS okeys",
        ],
        [
            # the steps in the tree's display order: by the chain of (start, end, id) keys from the top
            ("arrayFlatten(arrayMap(i -> step_of[i], arraySort((i, k) -> k, step_idx, arrayMap(i -> (has_parent[tops[i]], "
             "arrayMap(x -> okeys[x], arrayReverse(arrayPushFront(chains[i], i)))), step_idx)))) AS sig"),
        ],
        [
            "names[root] AS family", "cityHash64(sig) AS h", "NOT trace_failed AS ok",
            "if(last_end >= first_start, last_end - first_start, NULL) AS dur",
            "if(arrayCount(x -> x IS NOT NULL, counted_tokens) = 0, NULL, arraySum(x -> ifNull(x, 0), counted_tokens)) AS tokens",
            "if(arrayCount(x -> x IS NOT NULL, costs) = 0, NULL, arraySum(x -> ifNull(x, 0), costs)) AS cost",
            "arrayCount(x -> x, executed) AS calls",
            "arrayCount((x, f) -> x AND f, executed, fs) AS call_errors",
            "arrayCount((x, f, o) -> x AND f AND o, executed, fs, touts) AS call_timeouts",
        ],
    ]
    trace_facts = per_trace
    for layer in trace_layers:
        trace_facts = f"SELECT *, {', '.join(layer)}\nFROM ({trace_facts})"
    return trace_facts


def routes_sql(schema: Schema, url: ClickHouseURL, params: dict[str, Any], v: Vocabulary) -> str:
    """Level 3 (module docstring): one row per route with its numbers and its family's."""
    trace_facts = trace_sql(schema, url, params, v)
    names = ("n", "ok", "d50", "d95", "d99", "tok_mean", "tok_p95", "cost_mean", "cost_p95", "cost_n", "calls", "errors", "timeouts")
    family_stats = _stats("fam_", "rows")
    route_stats = _stats("", "mine") + [
        "arraySort(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x IS NOT NULL, arrayMap(x -> x.5, rest)))) AS rest_costs",
        f"{_nearest('rest_costs', 50)} AS rest_cost_p50",
        "arraySort(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x IS NOT NULL, arrayMap(x -> x.3, rest)))) AS rest_durs",
        f"{_nearest('rest_durs', 95)} AS rest_d95",
        "arrayMap(x -> x.9, arraySlice(arrayReverseSort(x -> (x.10, x.9), mine), 1, 3)) AS newest",
    ]
    outputs = ", ".join(["family", "route.2 AS sig", "paths", *names, *(f"fam_{name}" for name in names),
                         "rest_cost_p50", "rest_d95", "newest"])
    return f"""
SELECT {outputs} FROM (
  SELECT family, route, paths, {", ".join(f"fam_{name}" for name in names)},
    arrayFilter(x -> x.1 = route.1, rows) AS mine, arrayFilter(x -> x.1 != route.1, rows) AS rest,
    {", ".join(route_stats)}
  FROM (
    SELECT family, routes, rows, length(routes) AS paths, {", ".join(family_stats)}
    FROM (
      SELECT family, groupArray((h, ok, dur, tokens, cost, calls, call_errors, call_timeouts, t, first_start)) AS rows,
        groupUniqArray((h, sig)) AS routes
      FROM ({trace_facts})
      GROUP BY family
    )
  ) ARRAY JOIN routes AS route
) ORDER BY family, n DESC FORMAT JSONEachRow"""


def _stats(prefix: str, rows: str) -> list[str]:
    """Counts, nearest-rank percentiles and means over an array of per-trace tuples (see `routes_sql`)."""
    return [
        f"length({rows}) AS {prefix}n", f"arrayCount(x -> x.2, {rows}) AS {prefix}ok",
        f"arraySort(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x IS NOT NULL, arrayMap(x -> x.3, {rows})))) AS {prefix}durs",
        *(f"{_nearest(prefix + 'durs', p)} AS {prefix}d{p}" for p in PERCENTILES),
        f"arraySort(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x IS NOT NULL, arrayMap(x -> x.4, {rows})))) AS {prefix}toks",
        f"if(length({prefix}toks) = 0, NULL, arraySum({prefix}toks) / length({prefix}toks)) AS {prefix}tok_mean",
        f"{_nearest(prefix + 'toks', 95)} AS {prefix}tok_p95",
        f"arraySort(arrayMap(x -> assumeNotNull(x), arrayFilter(x -> x IS NOT NULL, arrayMap(x -> x.5, {rows})))) AS {prefix}costs",
        f"if(length({prefix}costs) = 0, NULL, arraySum({prefix}costs) / length({prefix}costs)) AS {prefix}cost_mean",
        f"{_nearest(prefix + 'costs', 95)} AS {prefix}cost_p95", f"length({prefix}costs) AS {prefix}cost_n",
        f"arraySum(x -> x.6, {rows}) AS {prefix}calls", f"arraySum(x -> x.7, {rows}) AS {prefix}errors",
        f"arraySum(x -> x.8, {rows}) AS {prefix}timeouts",
    ]


# -- running it ---------------------------------------------------------------------------------------------------


@dataclass
class PushedDown:
    """What ClickHouse answered: the rows (RouteStats, as `orchtui routes` prints them) and the newest trace ids of
    each route (to open one: `orchtui open 'clickhouse://…&trace=ID'`)."""

    stats: list
    newest: dict[str, list[str]]
    traces: int


def price_table(client: ClickHouseClient, schema: Schema, url: ClickHouseURL, v: Vocabulary) -> tuple[list[str], list[list[list[float]]]]:
    """Price bands (orchtui/analysis/cost.py) for every (model, provider) the window's calls name, as two parallel
    parameters: keys `model\\x1fprovider` and bands `[[start, base, input, output, cache read, cache write], …]`."""
    from orchtui.analysis.cost import _bands, _route

    params: dict[str, Any] = {"db": url.database, "table": url.table}
    keys, bands = [], []
    for row in client.rows(models_sql(schema, url, params, v), params):
        model, provider = str(row.get("model") or ""), str(row.get("provider") or "")
        found = _bands(*_route(model, provider or None))
        if found:
            keys.append(f"{model}\x1f{provider}")
            bands.append([[float(start), *map(float, rates)] for start, rates in found])
    return keys, bands


def compute(url: ClickHouseURL, by: str, client: ClickHouseClient | None = None) -> PushedDown:
    from orchtui.analysis.routes import BY_PATH, RouteStats, family_id, route_id
    from orchtui.analysis.steps import models_of, path_of

    own = client is None
    client = client or ClickHouseClient(url)
    try:
        schema = describe(client)
        v = vocabulary(client, schema, url)
        keys, bands = price_table(client, schema, url, v)
        params: dict[str, Any] = {"db": url.database, "table": url.table, "price_keys": keys, "price_bands": bands}
        rows = list(client.rows(routes_sql(schema, url, params, v), params))
    finally:
        if own:
            client.close()
    families: dict[str, list[tuple[RouteStats, dict[str, Any]]]] = {}
    newest: dict[str, list[str]] = {}
    for row in rows:
        family = str(row["family"])
        signature = tuple((str(kind), str(name)) for kind, name in row["sig"])
        path = path_of(signature)
        stats = _row(BY_PATH, route_id(family, path), family, path, 1, row, "", int(row["fam_n"]))
        stats.models = sorted(dict.fromkeys(models_of(signature)))
        families.setdefault(family, []).append((stats, row))
        newest[stats.route_id] = [str(t) for t in row.get("newest") or []]
    result: list[RouteStats] = []
    for family in sorted(families):
        members = families[family]
        for stats, row in members:
            stats.expensive_reasons = _expensive(stats, row, family)
            stats.expensive = bool(stats.expensive_reasons)
        members.sort(key=lambda pair: (-pair[0].traces, pair[0].label))
        if by == BY_PATH:
            result.extend(stats for stats, _ in members)
            continue
        row = members[0][1]
        whole = _row(by, family_id(family), family, None, int(row["paths"]), row, "fam_", int(row["fam_n"]))
        counts: dict[str, int] = {}
        for stats, _ in members:
            for model in stats.models:
                counts[model] = counts.get(model, 0) + stats.traces
        whole.models = sorted(counts, key=lambda model: (-counts[model], model))
        whole.expensive_reasons = [f"{stats.label}: {reason}" for stats, _ in members for reason in stats.expensive_reasons]
        whole.expensive = bool(whole.expensive_reasons)
        newest[whole.route_id] = [t for stats, _ in members for t in newest.get(stats.route_id, [])][:3]
        result.append(whole)
    return PushedDown(result, newest, sum(int(members[0][1]["fam_n"]) for members in families.values()))


def _ms(ns: Any) -> float | None:
    return None if ns is None else round(int(ns) / 1e6, 3)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _row(by: str, row_id: str, family: str, path, paths: int, row: dict[str, Any], prefix: str, family_traces: int):
    from orchtui.analysis.routes import RouteStats

    n = int(row[prefix + "n"])
    calls = int(row[prefix + "calls"])
    tokens_p95 = row[prefix + "tok_p95"]
    return RouteStats(
        by=by,
        route_id=row_id,
        family=family,
        path=path,
        paths=paths,
        traces=n,
        share=n / family_traces if family_traces else 0.0,
        success_rate=int(row[prefix + "ok"]) / n,
        latency_p50_ms=_ms(row[prefix + "d50"]),
        latency_p95_ms=_ms(row[prefix + "d95"]),
        latency_p99_ms=_ms(row[prefix + "d99"]),
        tokens_mean=_number(row[prefix + "tok_mean"]),
        tokens_p95=None if tokens_p95 is None else int(tokens_p95),
        cost_mean_usd=_number(row[prefix + "cost_mean"]),
        cost_p95_usd=_number(row[prefix + "cost_p95"]),
        cost_traces=int(row[prefix + "cost_n"]),
        retries_per_trace=None,  # type: ignore[arg-type]  # not computed in ClickHouse (NOT_COMPUTED)
        tool_calls_per_trace=calls / n,
        tool_error_rate=int(row[prefix + "errors"]) / calls if calls else None,
        timeout_rate=int(row[prefix + "timeouts"]) / calls if calls else None,
        loop_rate=None,  # type: ignore[arg-type]
        stop_problem_rate=None,  # type: ignore[arg-type]
        models=[],
    )


def _expensive(stats, row: dict[str, Any], family: str) -> list[str]:
    """`orchtui.analysis.routes.expensive_reasons`, from the percentiles ClickHouse computed for the route and the
    rest of its family."""
    from orchtui.analysis.routes import EXPENSIVE_FACTOR, _times
    from orchtui.formatting import format_cost, format_duration

    if int(row["fam_n"]) - stats.traces <= 0:
        return []
    reasons = []
    mean_cost, rest_cost = stats.cost_mean_usd, _number(row["rest_cost_p50"])
    if mean_cost is not None and rest_cost is not None and mean_cost > 0 and mean_cost >= EXPENSIVE_FACTOR * rest_cost:
        reasons.append(f"cost {format_cost(mean_cost)}/trace is {_times(mean_cost, rest_cost)} the rest of {family} "
                       f"(median {format_cost(rest_cost)})")
    p95, rest_p95 = stats.latency_p95_ms, _ms(row["rest_d95"])
    if p95 is not None and rest_p95 is not None and p95 > 0 and p95 >= EXPENSIVE_FACTOR * rest_p95:
        reasons.append(f"p95 latency {format_duration(p95)} is {_times(p95, rest_p95)} the rest of {family} "
                       f"(p95 {format_duration(rest_p95)})")
    return reasons


NOTE = ("computed in ClickHouse ({traces} traces, {routes} rows): retry, loop and stop are not computed there; "
        "see the README (routes from ClickHouse) for where the SQL differs from a file's routes")


def run(url_text: str, by: str, as_json: bool, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """`orchtui routes clickhouse://…` pushed down: the same table (or JSON document, with `computed_in`,
    `not_computed`, `deviations` and each route's newest trace ids added) as `orchtui routes` on files."""
    from orchtui.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, _write_json
    from orchtui.routes_report import print_routes, routes_document
    from orchtui.textsafe import printable

    from .clickhouse import parse_url

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        url = parse_url(url_text)
        result = compute(url, by)
    except RemoteError as exc:
        print(f"orchtui routes: {printable(str(exc), True)}", file=err)
        return EXIT_USAGE
    if not result.stats:
        print(f"orchtui routes: no traces in {printable(url.label, True)} (since={f'{url.since_s}s' if url.since_s else 'all'})", file=err)
        return EXIT_USAGE
    if as_json:
        document = routes_document(result.stats, by, [])
        document["computed_in"] = "clickhouse"
        document["source"] = url.label
        document["not_computed"] = list(NOT_COMPUTED)
        document["deviations"] = list(DEVIATIONS)
        for row in document["routes"]:
            row["newest_trace_ids"] = result.newest.get(row["route_id"], [])
        _write_json(document)
    else:
        print(printable(url.label, True) + ": " + NOTE.format(traces=result.traces, routes=len(result.stats)), file=out)
        print_routes(result.stats, by, [], out)
        print("Open a route's newest trace: orchtui open '" + printable(url.label, True) + "&since=all&trace=<id>'", file=out)
    flagged = any(route.expensive for route in result.stats)
    return EXIT_FINDINGS if flagged else EXIT_OK


def routes_command(args: Any) -> int | None:
    """`orchtui routes` on one clickhouse URL without --spec is pushed down (None: read the spans instead, as for
    several inputs, a gate file's evaluations, or `pushdown=0`)."""
    from .clickhouse import parse_url

    if len(args.paths) != 1 or args.spec:
        return None
    try:
        if not parse_url(args.paths[0]).pushdown:
            return None
    except RemoteError:
        pass  # said by `run`, with its exit status
    return run(args.paths[0], args.by, args.json)
