"""Cost in USD of an LLM call: as the producer reported it, else priced offline with `genai-prices`.

genai-prices resolves a model name (dated snapshots included) to a price table bundled with the package, so no
network is used. A lookup costs ~100 µs, so results are memoized per (model, provider, token counts); an unknown
model is remembered as unknown. The derived rates also persist across runs (price_cache.py), so a run whose models
were priced before never imports genai-prices. Cost is None when neither the producer nor the table knows the model.
"""

from __future__ import annotations

from functools import lru_cache

from parsers.span import Span

from .price_cache import UNKNOWN, rate_cache

# Our provider strings (OpenInference `llm.provider`, GenAI `gen_ai.provider.name`, ...) -> genai-prices ids.
PROVIDER_IDS = {
    "openai": "openai",
    "azure": "azure",
    "azure.ai.openai": "azure",
    "anthropic": "anthropic",
    "google": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "vertexai": "google",
    "aws": "aws",
    "aws.bedrock": "aws",
    "groq": "groq",
    "mistralai": "mistral",
    "mistral_ai": "mistral",
    "deepseek": "deepseek",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "cohere": "cohere",
    "together": "together",
    "fireworks": "fireworks",
    "perplexity": "perplexity",
}


def span_cost(span: Span) -> float | None:
    """The cost of one span: reported, else computed from tokens; None when unknown."""
    if span.cost_usd is not None:
        return span.cost_usd
    tokens = span.tokens
    if tokens is None or span.model is None or (tokens.prompt is None and tokens.completion is None):
        return None
    model, provider = _route(span.model, span.provider)
    return _price(model, provider, tokens.prompt or 0, tokens.completion or 0, tokens.cache_read or 0, tokens.cache_write or 0)


def _route(model: str, provider: str | None) -> tuple[str, str | None]:
    """A gateway's `provider/model` route (LiteLLM, ADK's LiteLlm: `openai/gpt-4o-mini`) names the real provider,
    whatever the span's own provider says (ADK writes `gemini` for every model)."""
    prefix, _, rest = model.partition("/")
    routed = PROVIDER_IDS.get(prefix.lower()) if rest else None
    if routed is not None:
        return rest, routed
    return model, PROVIDER_IDS.get((provider or "").lower())


# Per-token rates of one price band: (base, input, output, cache read, cache write), in USD.
Rates = tuple[float, float, float, float, float]
# A model's prices as bands: (start, rates) in ascending start; a band applies above `start` input tokens
# (genai-prices' "cliff" tiers: crossing a threshold prices every token of the call at that tier). Flat prices are
# one band starting at -1.
Bands = list[tuple[int, Rates]]


def _price(model: str, provider: str | None, prompt: int, completion: int, cache_read: int, cache_write: int) -> float | None:
    bands = _bands(model, provider)
    if bands is None:
        return None
    rates = next(rates for start, rates in reversed(bands) if prompt > start)
    base, per_input, per_output, per_cache_read, per_cache_write = rates
    return base + prompt * per_input + completion * per_output + cache_read * per_cache_read + cache_write * per_cache_write


@lru_cache(maxsize=4096)
def _bands(model: str, provider: str | None) -> Bands | None:
    """A model's price bands (None: unknown model), from the rate cache of earlier runs when it has them, else
    derived from genai-prices and remembered there."""
    cache = rate_cache()
    cached = cache.get(model, provider)
    if cached is None:
        cached = _derive_bands(model, provider)
        cache.put(model, provider, cached)
    return None if cached == UNKNOWN else cached


def _derive_bands(model: str, provider: str | None) -> Bands | str:
    """Bands derived from genai-prices. A full calculation takes ~250 µs, which a trace list of 100k calls cannot
    afford per call; within a band cost is linear in each token count, so a few reference calculations at the
    band's lower edge give its exact rates (differences taken in Decimal, so nothing is lost to rounding)."""
    from genai_prices import types

    try:
        calculation = _calculate(model, provider, 0, 0, 0, 0)
    except LookupError:
        return UNKNOWN
    starts = sorted(
        {tier.start for value in vars(calculation.model_price).values() if isinstance(value, types.TieredPrices) for tier in value.tiers}
    )
    return [(start, _band_rates(model, provider, start + 1)) for start in [-1, *starts]]


def _band_rates(model: str, provider: str | None, lowest_prompt: int) -> Rates:
    """Exact rates of the band that holds calls of `lowest_prompt` input tokens (and a few more)."""
    prompt = max(lowest_prompt, 0)

    def price(extra_prompt: int = 0, completion: int = 0, cache_read: int = 0, cache_write: int = 0):
        return _calculate(model, provider, prompt + extra_prompt, completion, cache_read, cache_write).total_price

    at_edge = price()
    step = 1  # one token: never crosses into the next band
    per_input = (price(extra_prompt=step) - at_edge) / step
    per_output = (price(completion=step) - at_edge) / step
    # Cached tokens are part of the input: measured with one more input token, so the cache never exceeds it.
    with_input = price(extra_prompt=step)
    per_cache_read = (price(extra_prompt=step, cache_read=step) - with_input) / step
    per_cache_write = (price(extra_prompt=step, cache_write=step) - with_input) / step
    base = at_edge - per_input * prompt
    return float(base), float(per_input), float(per_output), float(per_cache_read), float(per_cache_write)


def _calculate(model: str, provider: str | None, prompt: int, completion: int, cache_read: int, cache_write: int):
    """genai-prices' own calculation, trying the named provider first (imported lazily: ~100 ms of tables)."""
    from genai_prices import Usage, calc_price

    usage = Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cache_read_tokens=cache_read or None,
        cache_write_tokens=cache_write or None,
    )
    if provider is not None:
        try:
            return calc_price(usage, model_ref=model, provider_id=provider)
        except LookupError:
            pass
    return calc_price(usage, model_ref=model)
