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
    provider = PROVIDER_IDS.get((span.provider or "").lower())
    return _price(span.model, provider, tokens.prompt or 0, tokens.completion or 0, tokens.cache_read or 0, tokens.cache_write or 0)


@lru_cache(maxsize=65536)
def _price(model: str, provider: str | None, prompt: int, completion: int, cache_read: int, cache_write: int) -> float | None:
    if not _known(model, provider):
        return None
    from genai_prices import Usage, calc_price  # imported on first use: ~100 ms of price tables

    usage = Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cache_read_tokens=cache_read or None,
        cache_write_tokens=cache_write or None,
    )
    try:
        return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)
    except (LookupError, ValueError):
        try:
            return float(calc_price(usage, model_ref=model).total_price)
        except (LookupError, ValueError):
            return None


@lru_cache(maxsize=4096)
def _known(model: str, provider: str | None) -> bool:
    """Whether the price table knows this model at all (cached: unknown models are common and slow to miss)."""
    from genai_prices import Usage, calc_price

    for provider_id in (provider, None):
        try:
            calc_price(Usage(input_tokens=1, output_tokens=1), model_ref=model, provider_id=provider_id)
            return True
        except (LookupError, ValueError):
            continue
    return False
