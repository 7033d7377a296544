"""Cost from genai-prices, through rates derived once and remembered across runs (orchtui/analysis/cost.py and
price_cache.py): the same prices as genai-prices' own calculation, and a small run that never imports it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchtui.analysis import cost
from orchtui.analysis.price_cache import RateCache
from parsers.span import LLM, Span, Tokens

ROOT = Path(__file__).resolve().parents[2]
# (model, provider): a flat-priced model, and one priced in tiers above 200k input tokens.
MODELS = [("gpt-4o-mini", "openai"), ("claude-sonnet-4-5", "anthropic")]
# (prompt, completion, cache read, cache write): below, at and above the tier threshold.
USAGES = [(0, 0, 0, 0), (1, 1, 0, 0), (1234, 567, 800, 0), (200_000, 10, 0, 0), (200_001, 10, 5000, 100), (987_654, 32_000, 0, 40_000)]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A rate cache in its own directory, and no rates memoized in this process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("orchtui.analysis.price_cache._cache", None)
    cost._bands.cache_clear()
    yield tmp_path / "orchtui" / "prices.json"
    cost._bands.cache_clear()


def genai_prices_cost(model, provider, prompt, completion, cache_read, cache_write) -> float:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=prompt, output_tokens=completion, cache_read_tokens=cache_read or None, cache_write_tokens=cache_write or None)
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


def llm_span(model, provider, prompt, completion, cache_read, cache_write) -> Span:
    tokens = Tokens(prompt=prompt, completion=completion, cache_read=cache_read or None, cache_write=cache_write or None)
    return Span("t", "s", kind=LLM, model=model, provider=provider, tokens=tokens)


@pytest.mark.parametrize("model, provider", MODELS)
@pytest.mark.parametrize("usage", USAGES)
def test_derived_rates_give_genai_prices_own_cost(fresh_cache, model, provider, usage):
    assert cost.span_cost(llm_span(model, provider, *usage)) == pytest.approx(genai_prices_cost(model, provider, *usage), rel=1e-9, abs=1e-15)


def test_rates_survive_the_process_and_price_the_same(fresh_cache):
    before = [cost.span_cost(llm_span(model, provider, *usage)) for model, provider in MODELS for usage in USAGES]
    from orchtui.analysis.price_cache import rate_cache

    rate_cache().save()
    assert fresh_cache.exists()
    cost._bands.cache_clear()
    reloaded = RateCache(fresh_cache, rate_cache().tag)
    for model, provider in MODELS:
        assert reloaded.get(model, provider) == cost._derive_bands(model, provider)
    after = [cost.span_cost(llm_span(model, provider, *usage)) for model, provider in MODELS for usage in USAGES]
    assert after == before


def test_an_unknown_model_is_remembered_as_unknown(fresh_cache):
    assert cost.span_cost(llm_span("no-such-model-xyz", "openai", 10, 10, 0, 0)) is None
    from orchtui.analysis.price_cache import UNKNOWN, rate_cache

    assert rate_cache().get("no-such-model-xyz", "openai") == UNKNOWN


@pytest.mark.parametrize("content", [b"", b"not json", b'{"tag": 1}', b'{"tag": "T", "rates": {"openai\\u001fgpt-4o-mini": [[1, "x"]]}}', b"\xff\xfe"])
def test_a_damaged_cache_is_ignored(tmp_path, content):
    path = tmp_path / "prices.json"
    path.write_bytes(content)
    assert RateCache(path, "T").get("gpt-4o-mini", "openai") is None


def test_an_unwritable_cache_costs_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = RateCache(blocker / "orchtui" / "prices.json", "T")
    cache.put("m", None, [(-1, (0.0, 1.0, 2.0, 0.0, 0.0))])
    cache.save()  # the parent is a file: nothing written, nothing raised
    assert cache.get("m", None) == [(-1, (0.0, 1.0, 2.0, 0.0, 0.0))]


def test_a_second_small_check_does_not_import_genai_prices(tmp_path):
    """What makes a 5-line `orchtui check` start fast: once a model is priced, later runs read the cache."""
    trace = ROOT / "tests" / "data" / "frameworks" / "anthropic-native-openinference.otlp.jsonl"
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    probe = (
        "import sys, runpy; sys.argv = ['orchtui', 'check', '--json', sys.argv[1]]\n"
        "from orchtui import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print('genai_prices' in sys.modules, file=sys.stderr)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", probe, str(trace)], cwd=ROOT, env=env, capture_output=True, text=True) for _ in range(2)]
    assert [run.stderr.strip().splitlines()[-1] for run in runs] == ["True", "False"]
    assert runs[0].stdout == runs[1].stdout and '"cost_usd"' in runs[0].stdout
