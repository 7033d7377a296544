"""Mutation fuzzing of every input format and of the headless pipeline, shared by the bounded hypothesis tests
(tests/test_fuzz.py) and the long run (bench/fuzz.py).

Each case starts from a real recorded file of one format, damages one record of it (a JSON value replaced by a
value of another type, or bytes flipped, cut or inserted), and checks the two promises of issue 12:
- nothing raises: parsing, assembling, analysing and writing the `check --json` document of the damaged input;
- nothing else is lost: every span of the undamaged records is still read ("neighbours").
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from orchtui.analysis import Analyzer
from orchtui.report import check_document
from orchtui.store import SpanStore
from parsers.read import parse_bytes

DATA = Path(__file__).parent / "data"

# format -> (seed file, how its records are separated: "lines", "frames" (length-prefixed protobuf) or "document")
SEEDS: dict[str, tuple[str, str]] = {
    "otlp-json": ("langgraph/langgraph-openinference.otlp.jsonl", "lines"),
    "otlp-proto": ("langgraph/langgraph-traceai.otlp.pb", "document"),
    "otel-console": ("langgraph/langgraph-openinference.console.json", "document"),
    "otel-js-spans": ("vercel/ai-sdk-v6-all-spans.json", "document"),
    "langsmith": ("langsmith/langsmith_py_wrap_openai_.json", "document"),
    "openai-agents": ("openai-agents/agents-native.jsonl", "lines"),
}

# Values of every JSON type, and the ones that broke readers before (issue 12).
NASTY: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**64 + 5, -(2**63), 1e308, "", "x", "inf", "NaN", "-1",
    "253402300800000000000", "\x1b[2J", "[bold]x[/]", "\u202e", "\x00", [], [1, "a"], {}, {"a": None},
    {"stringValue": None, "intValue": "1"}, {"arrayValue": {"values": "x"}}, {"kvlistValue": 3},
]


# Characters str.isdigit() or str.isdecimal() accept that int() may refuse or read as another number: a message
# index `llm.output_messages.².…` once cost its whole trace.
DIGIT_LIKE = ["\u00b2", "\u0663", "\uff11", "\U0001d7d8", "\u2460"]


@dataclass
class Outcome:
    cases: int = 0
    crashes: list[str] = field(default_factory=list)  # what raised, with the format
    lost: list[str] = field(default_factory=list)  # neighbours lost, with the format


def seed(format_name: str) -> bytes:
    return (DATA / SEEDS[format_name][0]).read_bytes()


def mutate_json(value: Any, rng: random.Random) -> Any:
    """The value with one node (anywhere in it) replaced by a nasty value or a deep nest."""
    nodes: list[tuple[Any, Any]] = []  # (container, key)
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            nodes.append((node, key))
            if isinstance(child, (dict, list)):
                stack.append(child)
    if not nodes:
        return rng.choice(NASTY)
    container, key = rng.choice(nodes)
    if rng.random() < 0.1 and _respell_digits(nodes, rng):
        return value
    if rng.random() < 0.05:
        deep: Any = "x"
        for _ in range(rng.choice((70, 300))):
            deep = {"arrayValue": {"values": [deep]}} if rng.random() < 0.5 else [deep]
        container[key] = deep
    else:
        container[key] = rng.choice(NASTY)
    return value


def _respell_digits(nodes: list[tuple[Any, Any]], rng: random.Random) -> bool:
    """An attribute key or a value with its digits spelled otherwise ("²", "٣", "１"): an index in a flattened
    key (`llm.output_messages.0.…`), a number in text. Keys are picked first: they name the fields parsers split."""
    def respelled(text: str) -> str:
        other = rng.choice(DIGIT_LIKE)
        return "".join(other if ch.isdigit() else ch for ch in text)

    keys = [(c, k) for c, k in nodes if isinstance(k, str) and any(ch.isdigit() for ch in k)]  # {"a.0.b": …}
    named = [(c, k) for c, k in nodes if k == "key" and isinstance(c[k], str) and any(ch.isdigit() for ch in c[k])]
    texts = [(c, k) for c, k in nodes if isinstance(c[k], str) and any(ch.isdigit() for ch in c[k])]
    pools = [pool for pool in (keys, named, texts) if pool]
    if not pools:
        return False
    pool = pools[0] if rng.random() < 0.7 else rng.choice(pools)
    container, key = rng.choice(pool)
    if pool is keys:
        container[respelled(key)] = container.pop(key)
    else:
        container[key] = respelled(container[key])
    return True


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A few bytes flipped, cut or inserted."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        at = rng.randrange(len(data))
        action = rng.random()
        if action < 0.4:
            data[at] = rng.randrange(256)
        elif action < 0.7:
            del data[at : at + rng.randint(1, 16)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(data)


def damage(format_name: str, data: bytes, rng: random.Random) -> tuple[bytes, int | None]:
    """The input with one record damaged, and the index of the damaged line (None: not line-oriented)."""
    kind = SEEDS[format_name][1]
    if kind == "lines":
        lines = data.split(b"\n")
        index = rng.randrange(len([line for line in lines if line.strip()]))
        if rng.random() < 0.8:
            lines[index] = _dumps(mutate_json(orjson.loads(lines[index]), rng))
        else:
            lines[index] = mutate_bytes(lines[index], rng).replace(b"\n", b" ")
        return b"\n".join(lines), index
    if format_name == "otlp-proto" or rng.random() < 0.3:
        return mutate_bytes(data, rng), None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:  # objects back to back (the console exporter): damage one of them
        start = rng.choice(_object_starts(data) or [0])
        end = data.find(b"\n}", start + 1)
        end = len(data) if end == -1 else end + 2
        try:
            one = _dumps(mutate_json(orjson.loads(data[start:end]), rng))
        except orjson.JSONDecodeError:
            return mutate_bytes(data, rng), None
        return data[:start] + b"\n" + one + data[end:], None
    return _dumps(mutate_json(document, rng)), None


def _object_starts(data: bytes) -> list[int]:
    """Offsets of the console exporter's back-to-back objects (each begins a line with `{`)."""
    return [match.start() for match in re.finditer(rb"\n\{", data)]


def _dumps(value: Any) -> bytes:
    """JSON text of any mutated value (the stdlib writes integers past 64 bits, which orjson refuses)."""
    return json.dumps(value).encode()


def span_ids_by_line(format_name: str, data: bytes) -> list[set[str]]:
    """The span ids each line of a line-oriented input holds when read alone."""
    ids = []
    for line in data.split(b"\n"):
        if line.strip():
            ids.append({s.span_id for s in parse_bytes(line + b"\n", "seed", format_name).spans})
    return ids


def run_case(format_name: str, data: bytes, rng: random.Random, outcome: Outcome, neighbours: list[set[str]] | None) -> None:
    """Damage one record, read and analyse the result; record crashes and lost neighbours."""
    damaged, line = damage(format_name, data, rng)
    outcome.cases += 1
    try:
        result = parse_bytes(damaged, "fuzz", format_name if rng.random() < 0.5 else None)
        store = SpanStore()
        store.add(result.spans)
        store.add_errors(result.errors)
        analyses = Analyzer(store).all()
        orjson.dumps(check_document(analyses, store.errors))
    except Exception as exc:  # noqa: BLE001 - what the fuzzer exists to find
        outcome.crashes.append(f"{format_name}: {type(exc).__name__}: {exc}"[:300])
        return
    # The analyser turns its own exceptions into an error naming the trace (the trace then lists nowhere): for
    # the fuzzer that is a crash like any other.
    for error in store.errors:
        if "could not be analysed" in error.message:
            outcome.crashes.append(f"{format_name}: {error.source} {error.message}"[:300])
    if neighbours is not None and line is not None:
        read = {span.span_id for span in result.spans}
        expected = set().union(*(ids for index, ids in enumerate(neighbours) if index != line))
        missing = expected - read
        if missing:
            outcome.lost.append(f"{format_name}: {len(missing)} spans of undamaged lines lost (line {line + 1} damaged)")


def fuzz(format_name: str, cases: int, seed_value: int = 0) -> Outcome:
    rng = random.Random(seed_value)
    data = seed(format_name)
    neighbours = span_ids_by_line(format_name, data) if SEEDS[format_name][1] == "lines" else None
    outcome = Outcome()
    for _ in range(cases):
        run_case(format_name, data, rng, outcome, neighbours)
    return outcome
