"""Fuzzing, bounded for CI: every format's real files damaged record by record, and every JSON value in every
field of a span. Nothing may raise and no undamaged record may be lost (tests/fuzzing.py). The long run is
`python bench/fuzz.py` (100,000 cases per format)."""

from __future__ import annotations

import json
import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchtui.analysis import Analyzer
from orchtui.report import check_document
from orchtui.store import SpanStore
from parsers.read import parse_bytes
from tests.fuzzing import SEEDS, Outcome, run_case, seed, span_ids_by_line
from tests.orchtui.test_bad_records import llm_span, request

CASES = {"otel-console": 10}  # its seed is the largest file: fewer, slower cases
NEIGHBOURS = {name: span_ids_by_line(name, seed(name)) for name, (_, kind) in SEEDS.items() if kind == "lines"}


@pytest.mark.parametrize("format_name", list(SEEDS))
def test_damaged_records_never_crash_and_cost_only_themselves(format_name):
    @settings(max_examples=CASES.get(format_name, 60), deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(min_value=0, max_value=2**32))
    def case(seed_value):
        outcome = Outcome()
        run_case(format_name, seed(format_name), random.Random(seed_value), outcome, NEIGHBOURS.get(format_name))
        assert not outcome.crashes and not outcome.lost, outcome.crashes + outcome.lost

    case()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["traceId", "spanId", "parentSpanId", "name", "startTimeUnixNano", "endTimeUnixNano", "status", "events",
          "attributes", "kind", "links", "droppedAttributesCount"]


@settings(max_examples=150, deadline=None, database=None)
@given(st.sampled_from(FIELDS), JSON_VALUES)
def test_any_json_value_in_any_span_field_is_read_or_reported(field, value):
    doc = request()
    llm_span(doc)[field] = value
    result = parse_bytes(json.dumps(doc).encode(), "fuzz", "otlp-json")
    assert any(span.name == "agent" for span in result.spans)  # the undamaged span of the request
    store = SpanStore()
    store.add(result.spans)
    orjson.dumps(check_document(Analyzer(store).all(), result.errors))
