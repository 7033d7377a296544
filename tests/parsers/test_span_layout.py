"""The span's memory layout: payload and model-call fields live in objects that most spans do without, and
reading or writing them through the span behaves as plain fields."""

from __future__ import annotations

from parsers.read import read_path
from parsers.span import LLM, Span, Tokens
from tests.golden import ROOT, fixtures


def fixture_spans() -> list[Span]:
    return [span for fixture in fixtures() for span in read_path(ROOT / fixture).spans]


def test_only_model_calls_carry_model_facts() -> None:
    spans = fixture_spans()
    with_facts = [span for span in spans if span._model is not None]
    assert with_facts and len(with_facts) < len(spans) / 2
    assert all(span.kind == LLM for span in spans if span.stop_reason is not None)
    for span in spans:
        if span._model is None:
            assert (span.model, span.provider, span.tokens, span.cost_usd, span.stop_reason, span.response_id) == (None,) * 6
            assert span.finish_reasons == () and span.records_finish_reason and not span.stop_reason_inferred


def test_a_default_written_to_a_model_field_costs_nothing_and_a_value_is_kept() -> None:
    span = Span("t", "s", kind="tool", tool_args={"q": 1})
    span.model, span.finish_reasons, span.records_finish_reason, span.stop_reason_inferred = None, (), True, False
    assert span._model is None
    span.stop_reason = "stop"
    assert span._model is not None and (span.stop_reason, span.model, span.records_finish_reason) == ("stop", None, True)
    llm = Span("t", "l", kind=LLM, model="gpt-4o", tokens=Tokens(3, 4), finish_reasons=("stop",), stop_reason="stop")
    llm.tokens.complete_total()
    assert (llm.model, llm.tokens.total, llm.finish_reasons, llm.stop_reason) == ("gpt-4o", 7, ("stop",), "stop")
    assert (span.tool_args, llm.tool_args, llm.attributes, llm.events) == ({"q": 1}, None, {}, [])
