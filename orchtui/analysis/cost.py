"""Cost in USD of an LLM call: as the producer reported it, else priced offline with `genai-prices`.

genai-prices resolves a model name (dated snapshots included) to a price table bundled with the package, so no
network is used. A lookup costs ~100 µs, so results are memoized per (model, provider, token counts); an unknown
model is remembered as unknown. Cost is None when neither the producer nor the table knows the model.
"""

from __future__ import annotations

from functools import lru_cache

from parsers.span import Span

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


def _price(model: str, provider: str | None, prompt: int, completion: int, cache_read: int, cache_write: int) -> float | None:
    rates = _rates(model, provider)
    if rates is None:
        return None
    if isinstance(rates, Tiered):
        return _exact_price(rates.model, rates.provider, prompt, completion, cache_read, cache_write)
    base, per_input, per_output, per_cache_read, per_cache_write = rates
    return base + prompt * per_input + completion * per_output + cache_read * per_cache_read + cache_write * per_cache_write


class Tiered:
    """Marker for models whose price per token depends on the request size: priced exactly, per call."""

    __slots__ = ("model", "provider")

    def __init__(self, model: str, provider: str | None) -> None:
        self.model, self.provider = model, provider


@lru_cache(maxsize=4096)
def _rates(model: str, provider: str | None) -> tuple[float, float, float, float, float] | Tiered | None:
    """Per-token rates of a flat-priced model, derived once from genai-prices (None: unknown model).

    A full genai-prices calculation takes ~250 µs; a trace list of 100k calls cannot afford that per call, and
    for flat prices cost is linear in each token count, so five reference calculations give the exact rates.
    """
    from genai_prices import types

    try:
        calculation = _calculate(model, provider, 0, 0, 0, 0)
    except LookupError:
        return None
    if any(isinstance(value, types.TieredPrices) for value in vars(calculation.model_price).values()):
        return Tiered(model, provider)
    million = 1_000_000
    base = float(calculation.total_price)
    with_input = _exact_price(model, provider, million, 0, 0, 0)
    per_input = (with_input - base) / million
    per_output = (_exact_price(model, provider, 0, million, 0, 0) - base) / million
    per_cache_read = (_exact_price(model, provider, million, 0, million, 0) - with_input) / million
    per_cache_write = (_exact_price(model, provider, million, 0, 0, million) - with_input) / million
    return base, per_input, per_output, per_cache_read, per_cache_write


@lru_cache(maxsize=65536)
def _exact_price(model: str, provider: str | None, prompt: int, completion: int, cache_read: int, cache_write: int) -> float:
    return float(_calculate(model, provider, prompt, completion, cache_read, cache_write).total_price)


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
