"""Faithfulness (design/evaluators.md §8.8): is the final answer grounded in what the tools returned?

A lexical proxy for NLI, after FutureAGI's heuristic (fi/evals/metrics/hallucination/nli.py, rag/utils/claims.py):
the answer is cut into claims, and each claim's content words are looked up in the contexts (tool results,
retrieved documents and, by default, the user's own messages: user-supplied facts are allowed).

    coverage      = |content(claim) ∩ content(contexts)| / |content(claim)|, over the UNION of the contexts
    contradicted  a context covering more than half of the claim states the opposite (negation differs in its
                  closest segment), or the claim has a number found in no context while a context covering more
                  than half of it has numbers (FutureAGI's numeric rule); a contradiction wins
    unsupported   a claim number found in no context, or coverage < 0.3 (no credit: FutureAGI gave 0.4)
    supported     coverage >= 0.65;   neutral  0.3 <= coverage < 0.65 (neutral_credit)
    score = (supported + neutral_credit * neutral) / claims

Claims are checked against the union of the contexts, not one context at a time: an answer that combines two tool
results ("It is rainy and 14°C in Tokyo, and the local time is 21:05." from a weather and a clock result) is
grounded in the two together, and a number is only "contradicted" when no context has it (checked one context at a
time, the clock result "lacked" 14 and the numeric rule fired). The explanation names the contexts that cover a
claim, best first.

Deliberate differences from FutureAGI. Tool outputs are long, structured and numeric where FutureAGI expects short
passages, so: numbers are normalised before tokenising (1,234.0 == 1234, 72F == 72); identifiers are split at
underscores (`waiting_days` reads "waiting days"); words are reduced to a light stem (plural and verb endings:
"opens", "opened", "opening" all read "open", so "opens" vs "doesn't open" is a contradiction); first-person pronouns
and a few function words join the stop list ("I", "my", "so": the agent talking about itself is not a fact to
check); a negation is compared with the context segment (sentence, line, or JSON leaf) that best covers the claim,
not with the whole context, in which some "no" is almost always found; the "<= 2 novel numbers" cap is dropped
(§8.8); when tool results disagree, a claim matching one of them is supported (a number found in some context is
not contradicted by another). Bugs fixed: "doesn't" counts as a negation (FutureAGI's word tokeniser splits it, so
its "n't" never matched), and the meta/greeting patterns match whole words only ("His reports…" is not "Hi").
Lexical overlap cannot see paraphrase or unit conversion: the LLM judge can.

n/a without an answer (TaskCompletion reports that; an answer the producer never recorded is said to be so) or
without any tool result / retrieved document ("nothing to ground against": user input alone is not a grounding
source). An answer with no verifiable claims scores 1.0 with a note, as in FutureAGI and deepeval.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from itertools import repeat
from functools import lru_cache
from typing import Any, Callable

from parsers.conventions import parse_json_maybe

from ..analysis.findings import CRITICAL, WARN, Finding
from .judge import STRING_LIMIT, Consultation, Form, JudgeError, Opinion, Steps, refine
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "Faithfulness"
OPTIONS = {"threshold": 0.7, "neutral_credit": 0.4, "include_user_input": True, "penalize_ambiguous": False, "judge": None}
SUPPORTED, NEUTRAL, UNSUPPORTED, CONTRADICTED = "supported", "neutral", "unsupported", "contradicted"

# FutureAGI's heuristic-NLI stop list and negations (fi/evals/metrics/hallucination/nli.py @ a13cd0d).
STOPWORDS = frozenset({
    "the", "a", "an", "is", "are", "was", "were", "be", "been", "being",
    "have", "has", "had", "do", "does", "did", "will", "would", "could",
    "should", "may", "might", "must", "shall", "can", "to", "of", "in",
    "for", "on", "with", "at", "by", "from", "as", "and", "or", "but",
    "if", "that", "this", "it", "its", "they", "their", "he", "she",
    "him", "her", "his", "we", "our", "you", "your",
})
# Ours on top of FutureAGI's: the agent talking about itself ("I've issued", "my records") and function words are no
# fact to check, and would otherwise count as claim words no tool output contains.
STOPWORDS |= frozenset({
    "i", "me", "my", "mine", "myself", "us", "am", "so", "then", "than", "also", "there", "here", "these", "those",
    "which", "what", "who", "whom", "them",
})
NEGATIONS = frozenset({"not", "n't", "never", "no", "none", "neither", "nor", "cannot"})
# Contractions are expanded before tokenising, so "doesn't" reads "does not" (FutureAGI's \w+ tokeniser split it into
# "doesn" + "t": its "n't" never matched and both halves counted as content words).
_IRREGULAR_NOT = {"won't": "will not", "can't": "can not", "shan't": "shall not"}
_CONTRACTED_NOT = re.compile(r"\b(?:won't|can't|shan't|(\w+)n't)\b")
_CLITIC = re.compile(r"'(?:s|re|ve|ll|d|m)\b")

# Claims: FutureAGI's sentence splitter (abbreviations protected) and filters (claims.py), after line/bullet splitting.
_ABBREVIATION = re.compile(r"\b(Mr|Mrs|Ms|Dr|Prof|Sr|Jr|etc|vs|i\.e|e\.g)\.")
_SENTENCE_END = re.compile(r"\s(?<=[.!?]\s)\s*")  # `(?<=[.!?])\s+`, starting with \s so the engine skips in C to it
_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*+•▪‣◦>]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_NOT_A_CLAIM = [
    re.compile(p + r"(?!\w)", re.IGNORECASE)  # whole words: "His reports…" is not "Hi", "Maybelline" not "Maybe"
    for p in (
        r"^(I think|I believe|In my opinion|It seems|Perhaps|Maybe)",
        r"^(Here is|Here are|The following|Below is|Above is)",
        r"^(Note:|Important:|Warning:|Disclaimer:|Please note)",
        r"^(Let me|I will|I can|I would|I should)",
        r"^(This is|That is|These are|Those are)\s+(a|an|the)\s+(question|query|request)",
        r"^(Thank you|Thanks|Sure|Of course|Certainly|Absolutely)",
        r"^(Hello|Hi|Hey|Good morning|Good afternoon|Good evening)",
    )
]

# Numbers: thousands separators dropped, decimal comma unified, a unit glued on dropped (72F, 18°C, 20%, 5km).
# `\d(?<![\w.,]\d)` is `(?<![\w.,])\d` with the look-behind moved after the first digit: a pattern that starts
# with a character class lets the regex engine skip to the next digit in C instead of trying every position.
# An underscore before the digits does not stop a number (`rf_5531` holds 5531, as identifiers are split at "_").
_NUMBER = re.compile(r"(\d(?<![^\W_]\d)(?<![.,]\d)\d*(?:[.,]\d+)*)(?:°?[a-z]{1,3}|%)?(?![^\W_])")
_ASCII_NUMBER = re.compile(_NUMBER.pattern, re.ASCII)  # same matches on ASCII text, half the cost (no Unicode lookups)
_TOKEN = re.compile(r"\d+\.\d+(?![^\W_])|[^\W_]+")  # words split at underscores: `waiting_days` is two words
# ASCII characters that never belong to a token (all but letters, digits and ".") -> space: see `_tokens`.
_SPACE_OUT = str.maketrans({chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == ".")})


@dataclass(frozen=True)
class _Words:
    content: frozenset[str]
    numbers: frozenset[str]
    negated: bool


@dataclass
class _Context:
    """A context, tokenised on first use: a long trace has thousands of tool results, and a claim is compared in
    full only with those a substring test cannot rule out (see `_bounds`)."""

    label: str  # "get_weather result", "retrieved document kb", "user input"
    span_id: str | None
    text: str
    tokenise: Callable[[str], _Words]  # the run's memoised `_words`
    _words: _Words | None = field(default=None, repr=False)
    _lower: str | None = field(default=None, repr=False)
    _segments: list[_Words] | None = field(default=None, repr=False)

    @property
    def words(self) -> _Words:
        if self._words is None:
            self._words = self.tokenise(self.text)
        return self._words

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower

    @property
    def place(self) -> str:
        return f"{self.label} (span {self.span_id})" if self.span_id else self.label

    @property
    def plain(self) -> bool:
        """Not a JSON object or array: `parse_json_maybe` only makes one of text that starts with { or [."""
        return self.text.lstrip()[:1] not in ("{", "[")

    def segments(self) -> list[_Words]:
        """The leaves of a JSON result ("rain no", "temp_f 72"), else its lines and sentences: where a negation is
        compared, so that a "no" elsewhere cannot flip a claim. Built on first use: only a context that covers
        more than half of some claim is ever asked, and most of those skip it (see `_contradiction`)."""
        if self._segments is None:
            data = parse_json_maybe(self.text)
            pieces = list(_leaves(data)) if isinstance(data, (dict, list)) else [s for line in self.text.splitlines() for s in _SENTENCE_END.split(line)]
            self._segments = [self.tokenise(p) for p in pieces if p.strip()]
        return self._segments


@dataclass(frozen=True)
class _Verdict:
    claim: str
    label: str
    coverage: float  # over the union of the contexts (of the contradicting context for a contradiction)
    context: _Context | None  # the closest context (the contradicting one for a contradiction)
    reason: str
    sources: tuple[_Context, ...] = ()  # the contexts that cover the claim's words, best first (at most 3)


def run(
    trajectory: Trajectory, reference: Reference, *, threshold: float, neutral_credit: float, include_user_input: bool, penalize_ambiguous: bool, judge=None
) -> EvalResult:
    if not 0.0 <= neutral_credit <= 1.0:
        raise ValueError(f"neutral_credit must be within 0..1, got {neutral_credit}")
    from .task_completion import answer_unrecorded, final_answer

    answer = final_answer(trajectory).strip()
    if not answer:
        why = answer_unrecorded(trajectory) or "the final answer is empty (TaskCompletion reports it)"
        return make_result(NAME, None, threshold, f"Faithfulness: n/a — {why}.")
    # Tokenise each distinct text once per run: tool results repeat across a long trace, and a one-line result is
    # its own only segment.
    tokenise = lru_cache(maxsize=None)(_words)
    contexts = _contexts(trajectory, tokenise)
    if not contexts:
        return make_result(NAME, None, threshold, "Faithfulness: n/a — nothing to ground against: the trace has no tool results or retrieved documents.")
    if include_user_input:
        contexts += [_Context("user input", None, text, tokenise) for text in _user_texts(trajectory)]
    claims = _claims(answer, tokenise)
    if not claims:
        result = make_result(
            NAME, 1.0, threshold,
            "Faithfulness 1.00 — the answer makes no verifiable claims (only questions, greetings, hedges or fragments).",
            details={"claims": []},
        )
        return refine(result, judge, lambda consultation: _opinion(consultation, answer, contexts, penalize_ambiguous))
    union = _Union(contexts)
    verdicts = [_judge(claim, words, contexts, union) for claim, words in claims]
    count = {label: sum(v.label == label for v in verdicts) for label in (SUPPORTED, NEUTRAL, UNSUPPORTED, CONTRADICTED)}
    score = round((count[SUPPORTED] + neutral_credit * count[NEUTRAL]) / len(verdicts), 4)
    findings = [_finding(v) for v in verdicts if v.label in (UNSUPPORTED, CONTRADICTED)]
    details = {
        "claims": [
            {"claim": v.claim, "label": v.label, "coverage": round(v.coverage, 4), "context": v.context.label if v.context else None,
             "span_id": v.context.span_id if v.context else None, "contexts": [c.label for c in v.sources], "reason": v.reason}
            for v in verdicts
        ],
        "counts": count,
        "contexts": len(contexts),
    }
    result = make_result(NAME, score, threshold, _explain(score, verdicts, count, neutral_credit), findings, details=details)
    return refine(result, judge, lambda consultation: _opinion(consultation, answer, contexts, penalize_ambiguous))


# -- LLM mode --------------------------------------------------------------------------------------------------------

# ragas' statements + NLI verdicts with deepeval's yes/no/idk, in our words (reference/evaluators.md §3.8, §4.5).
JUDGE_TASK = (
    "Check whether the agent's answer is faithful to the contexts (tool results, retrieved documents, the user's own "
    "words). Break the answer into short standalone statements, one fact each, pronouns resolved; leave out "
    'greetings, questions and hedges. Give each statement a verdict from the contexts alone: "yes" when they support '
    'it, "no" when they contradict it, "idk" when they neither support nor contradict it.'
)
STATEMENT_VERDICTS = ("yes", "no", "idk")


def _opinion(consultation: Consultation, answer: str, contexts: list[_Context], penalize_ambiguous: bool) -> Opinion:
    """LLM mode: the judge's statements and verdicts replace the lexical claims (a judge sees paraphrase and unit
    conversion, lexical overlap cannot); the lexical result stays below it in the explanation."""
    lines = tuple(f"{c.place}: {' '.join(c.text.split())}" for c in contexts)
    fields = {"answer": answer, "contexts": Steps(lines, STRING_LIMIT)}
    verdict = consultation.ask(JUDGE_TASK, fields, _statements_form(penalize_ambiguous))
    statements = verdict.representative.data["statements"]
    count = {v: sum(_verdict_of(s) == v for s in statements) for v in STATEMENT_VERDICTS}
    idk = "counted against" if penalize_ambiguous else "counted as faithful"
    headline = (
        f"Faithfulness {verdict.score:.2f} — judge ({consultation.judge.model}): {len(statements)} statement(s), "
        f"{count['yes']} supported, {count['no']} contradicted, {count['idk']} not settled by the contexts ({idk})"
    )
    findings = [
        Finding("faithfulness.judged_contradicted", WARN, f"judge: {str(s.get('statement', ''))!r} is contradicted by the contexts — {s.get('reason', '')}")
        for s in statements
        if _verdict_of(s) == "no"
    ]
    return Opinion(verdict.score, verdict.score, "llm", headline, {"statements": statements}, findings)


def _statements_form(penalize_ambiguous: bool) -> Form:
    """Statements with verdicts; score = faithful / statements (yes, and idk unless `penalize_ambiguous`), 1.0 for an
    answer with no statements (deepeval)."""

    def read(data: dict[str, Any]) -> float:
        statements = data.get("statements")
        if not isinstance(statements, list) or not all(isinstance(s, dict) and _verdict_of(s) in STATEMENT_VERDICTS for s in statements):
            raise JudgeError(f"no statement verdicts in the reply: {str(data)[:120]!r}")
        faithful = sum(_verdict_of(s) == "yes" or (_verdict_of(s) == "idk" and not penalize_ambiguous) for s in statements)
        return faithful / len(statements) if statements else 1.0

    text = {"type": "string"}
    item = {"type": "object", "additionalProperties": False, "properties": {"statement": text, "verdict": {"type": "string", "enum": list(STATEMENT_VERDICTS)}, "reason": text}, "required": ["statement", "verdict", "reason"]}
    example = '{"reasoning": "<one sentence>", "statements": [{"statement": "<one fact>", "verdict": "yes | no | idk", "reason": "<why>"}]}'
    return Form("statements", {"statements": {"type": "array", "items": item}}, example, read)


def _verdict_of(statement: dict[str, Any]) -> str:
    return str(statement.get("verdict", "")).strip().lower()


# -- inputs ----------------------------------------------------------------------------------------------------------

def _contexts(trajectory: Trajectory, tokenise: Callable[[str], _Words]) -> list[_Context]:
    """Tool results and retrieved documents; tool messages of the chat history whose call has no tool span too."""
    found = []
    for c in trajectory.contexts:
        label = f"retrieved document {c.name}".strip() if c.source == "retrieved_doc" else (f"{c.name} result" if c.name else "tool result")
        found.append(_Context(label, c.span_id, c.text, tokenise))
    seen = {c.text for c in trajectory.contexts}
    executed = {call.call_id for call in trajectory.tool_calls if call.executed and call.call_id}
    for call in trajectory.llm_calls:
        for message in call.input_messages:
            if message.role == "tool" and message.content and message.content not in seen and message.tool_call_id not in executed:
                seen.add(message.content)
                label = f"{message.name} result" if message.name else "tool result"
                found.append(_Context(label, call.span_id, message.content, tokenise))
    return found


def _user_texts(trajectory: Trajectory) -> list[str]:
    texts = [m.content for call in trajectory.llm_calls for m in call.input_messages if m.role == "user" and m.content]
    return [t for t in dict.fromkeys([*texts, trajectory.user_input or ""]) if t.strip()]


def _leaves(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{key} {k}")]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [f"{key} {value}"]


# -- claims and words ------------------------------------------------------------------------------------------------

def _claims(answer: str, tokenise: Callable[[str], _Words]) -> list[tuple[str, _Words]]:
    """Sentences of every line (bullets and headings stripped, code blocks skipped) that can be checked: >= 3 words,
    not a question, not a meta statement, hedge, acknowledgement or greeting, at least one content word."""
    claims = []
    for line in _CODE_FENCE.sub("\n", answer).splitlines():
        if _HEADING.match(line):
            continue
        line = _BULLET.sub("", line)
        for sentence in _SENTENCE_END.split(_ABBREVIATION.sub(r"\1<DOT>", line.strip())):
            sentence = sentence.replace("<DOT>", ".").strip()
            if len(sentence.split()) < 3 or sentence.endswith("?") or any(p.match(sentence) for p in _NOT_A_CLAIM):
                continue
            words = tokenise(sentence)
            if words.content:
                claims.append((sentence, words))
    return claims


def _words(text: str) -> _Words:
    lowered = text.lower().replace("’", "'")
    if "'" in lowered:  # both patterns need an apostrophe; most tool output has none
        lowered = _CLITIC.sub("", _CONTRACTED_NOT.sub(_expand, lowered))
    number = _ASCII_NUMBER if lowered.isascii() else _NUMBER
    tokens = _tokens(number.sub(lambda m: f" {_number(m[1])} ", lowered))
    content = frozenset(map(_stem, tokens - STOPWORDS))
    # A token with a dot can only be a decimal (\w has no dot); \d is exactly str.isdecimal (Unicode Nd). Numbers
    # are never stemmed.
    numbers = frozenset(t for t in content if "." in t or t.isdecimal())
    return _Words(content, numbers, bool(tokens & NEGATIONS))


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A light English stem, the same on both sides of a comparison: plural and verb endings off ("policies" ->
    "policy", "opens"/"opened"/"opening" -> "open", "shipped" -> "ship"), then a final e ("issue"/"issued" -> "issu").
    Only ASCII words of 4+ letters; a stem need not be a word, only the same for the forms of one."""
    if len(word) < 4 or not (word.isascii() and word.isalpha()):
        return word
    stripped = False
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) >= 6:
        word, stripped = word[:-3], True
    elif word.endswith("ed") and len(word) >= 5 and not word.endswith("eed"):
        word, stripped = word[:-2], True
    if stripped and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouylsz":
        word = word[:-1]  # shipp(ed) -> ship, stopp(ing) -> stop
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _tokens(text: str) -> set[str]:
    r"""The set of `_TOKEN.findall(text)`, at half the cost on ASCII text (most tool output): characters other than
    letters, digits and "." become spaces and the text is split; only chunks with a dot go through the regex. Exact,
    because no match spans another character and the only look-around, after a decimal, sees a non-letter, non-digit
    character (or the end) at a chunk's end either way."""
    if not text.isascii():
        return set(_TOKEN.findall(text))
    chunks = set(text.translate(_SPACE_OUT).split())
    if "." not in text:
        return chunks
    tokens = {chunk for chunk in chunks if "." not in chunk}
    for chunk in chunks - tokens:
        tokens.update(_TOKEN.findall(chunk))
    return tokens


def _expand(m: re.Match[str]) -> str:
    return f"{m[1]} not" if m[1] else _IRREGULAR_NOT[m[0]]


def _number(raw: str) -> str:
    """Canonical text of a number: `1,234.50` `1.234,5` `1234.5`; `3,5` -> 3.5; lists like `1,2,3` stay separate."""
    if "," in raw and "." in raw:
        decimal = "." if raw.rfind(".") > raw.rfind(",") else ","
        whole, _, fraction = raw.rpartition(decimal)
        groups = re.split(r"[.,]", whole)
        if not all(len(g) == 3 for g in groups[1:]):
            return " ".join(_plain(g) for g in re.split(r"[.,]", raw))
        return _plain("".join(groups), fraction)
    separator = "," if "," in raw else "." if "." in raw else ""
    if not separator:
        return _plain(raw)
    groups = raw.split(separator)
    if len(groups) == 2 and not (separator == "," and len(groups[1]) == 3):
        return _plain(groups[0], groups[1])  # a decimal point or comma
    if all(len(g) == 3 for g in groups[1:]):
        return _plain("".join(groups))  # thousands separators
    return " ".join(_plain(g) for g in groups)  # a list or a version number


def _plain(whole: str, fraction: str = "") -> str:
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


# -- verdicts --------------------------------------------------------------------------------------------------------

def _coverage(claim: _Words, text: _Words) -> float:
    return len(claim.content & text.content) / len(claim.content)


class _Union:
    """Which words some context has (the union of the contexts, asked word by word and remembered). A substring test
    rules most contexts out (`_substrings`), and only the others are tokenised, until one has the word: a claim's
    words are usually all in the first context that could have them."""

    def __init__(self, contexts: list[_Context]) -> None:
        self.contexts = contexts
        self.known: dict[str, bool] = {}
        self._negatable: list[bool] | None = None

    @property
    def negatable(self) -> list[bool]:
        """Per context, whether it can state a negation (_NEGATION_HINTS) or is JSON (compared leaf by leaf, where null
        reads "None" and an escape can spell "not"): computed for all at once, once."""
        if self._negatable is None:
            lowers = [context.lower for context in self.contexts]
            flags = [not context.plain for context in self.contexts]
            for needle in _NEGATION_HINTS:
                flags = list(map(operator.or_, flags, map(operator.contains, lowers, repeat(needle))))
            self._negatable = flags
        return self._negatable

    def has(self, word: str) -> bool:
        found = self.known.get(word)
        if found is None:
            keys = _substrings(word)
            found = self.known[word] = any(
                word in context.words.content for context in self.contexts if any(key in context.lower for key in keys)
            )
        return found

    def covered(self, words: frozenset[str]) -> frozenset[str]:
        return frozenset(word for word in words if self.has(word))


def _substrings(word: str) -> tuple[str, ...]:
    """Substrings one of which the lower-cased text of any context holding `word` contains: the stem without a
    final "y" (see `_keys`); for a number (normalised: "1,234.50" reads 1234.5) its first digit; for "not", which
    "won't" and "doesn't" also spell, "n't" too."""
    if "." in word or word.isdecimal():
        return (word[0],)
    if word == "not":
        return ("not", "n't", "n’t")
    return (word[:-1] if word.endswith("y") and len(word) > 1 and word not in NEGATIONS else word,)


def _keys(words: frozenset[str]) -> tuple[list[str], int]:
    """Substring keys for `_bounds`: each word's stem without a final "y" is a substring of every form it stems from
    in a lower-cased text ("polic" for policy/policies, "ship" for shipped); numbers (normalised: "1,234.50" is
    "1234.5") and negations ("not" can come from "won't") have none and count as present: (keys, such words)."""
    keyed = [w[:-1] if w.endswith("y") and len(w) > 1 else w for w in words - NEGATIONS if not ("." in w or w.isdecimal())]
    return keyed, len(words) - len(keyed)


def _bounds(contexts: list[_Context], words: frozenset[str]) -> list[int]:
    """For each context, an upper bound of how many of `words` it shares: substring tests on its lower-cased text
    instead of tokenising it."""
    keys, free = _keys(words)
    lowers = [context.lower for context in contexts]
    if not keys:
        return [free] * len(contexts)
    # one C-level pass per key over all the contexts (operator.contains mapped), then the counts per context
    found = [map(operator.contains, lowers, repeat(key)) for key in keys]
    return [free + sum(row) for row in zip(*found)]


# A context holding a negation holds one of these in its lower-cased text ("cannot" and "none" hold "no"; "\\u": a JSON
# escape can spell one).
_NEGATION_HINTS = ("no", "n't", "n’t", "never", "neither", "\\u")



def _by_bound(bounds: list[int]) -> list[int]:
    """Context indices by bound, highest first, trace order among equals (the sort is stable, also reversed)."""
    return sorted(range(len(bounds)), key=bounds.__getitem__, reverse=True)


def _closest(words: frozenset[str], contexts: list[_Context], bounds: list[int]) -> tuple[_Context, int]:
    """The first context (in trace order) sharing the most of `words`, and how many: contexts are taken in order of
    their bound, and the search stops when no bound left can beat or tie it earlier in the trace."""
    best, best_index, best_shared = contexts[0], 0, -1
    for index in _by_bound(bounds):
        bound = bounds[index]
        if bound < best_shared or (bound == best_shared and index > best_index):
            break
        shared = len(words & contexts[index].words.content)
        if shared > best_shared or (shared == best_shared and index < best_index):
            best, best_index, best_shared = contexts[index], index, shared
    return best, best_shared


def _judge(claim: str, words: _Words, contexts: list[_Context], union: _Union) -> _Verdict:
    """The claim against the union of the contexts (see the module docstring); a contradiction needs one context
    that covers more than half of the claim on its own, and a negation on one side."""
    size = len(words.content)
    novel = words.numbers - union.covered(words.numbers)  # numbers no context has
    bounds = _bounds(contexts, words.content)
    best, _ = _closest(words.content, contexts, bounds)
    contradiction: tuple[int, _Context, str] | None = None
    negatable = None if words.negated else union.negatable
    for index, context in enumerate(contexts):  # trace order: the first of the most covering contradictions wins
        # JSON contexts are compared leaf by leaf, and a leaf can read as a negation its raw text does not show (null
        # is "None", an escape spells "not"): they are always asked
        if bounds[index] * 2 <= size or not (negatable is None or negatable[index]):
            continue
        shared = len(words.content & context.words.content)
        if shared * 2 <= size:
            continue
        reason = _negation(words, context)
        if reason and (contradiction is None or shared > contradiction[0]):
            contradiction = (shared, context, reason)
    if contradiction:
        return _Verdict(claim, CONTRADICTED, contradiction[0] / size, contradiction[1], contradiction[2], (contradiction[1],))
    covered = union.covered(words.content)
    coverage = len(covered) / size
    sources = _sources(covered, best, contexts) if covered else ()
    if novel and coverage > 0.5:
        # FutureAGI's numeric rule over the union: the rest of the claim is in the contexts, and its number is in
        # none of them while the contexts about it state numbers.
        about = _numeric_source(claim, words, novel, contexts)
        if about is not None:
            reason = f"it has {', '.join(sorted(about.words.numbers)[:5])}, not {', '.join(sorted(novel))}"
            return _Verdict(claim, CONTRADICTED, coverage, about, reason, sources)
    if novel:
        return _Verdict(claim, UNSUPPORTED, coverage, best if covered else None, f"number {', '.join(sorted(novel))} appears in no tool output", sources)
    if coverage >= 0.65:
        return _Verdict(claim, SUPPORTED, coverage, best, f"coverage {coverage:.2f}", sources)
    if coverage >= 0.3:
        return _Verdict(claim, NEUTRAL, coverage, best, f"partial overlap {coverage:.2f}", sources)
    reason = "no overlap with any tool output" if coverage == 0 else f"coverage {coverage:.2f} at best"
    return _Verdict(claim, UNSUPPORTED, coverage, best if covered else None, reason, sources)


def _sources(covered: frozenset[str], best: _Context, contexts: list[_Context], limit: int = 3) -> tuple[_Context, ...]:
    """The contexts that together cover the claim's covered words, greedily: the closest, then the one adding most
    (the first in trace order of those adding most)."""
    chosen = [best]
    left = covered - best.words.content
    while left and len(chosen) < limit:
        others = [c for c in contexts if all(c is not taken for taken in chosen)]
        context, _ = _closest(left, others, _bounds(others, left))
        chosen.append(context)
        left -= context.words.content
    return tuple(chosen)


def _numeric_source(claim: str, words: _Words, novel: frozenset[str], contexts: list[_Context]) -> _Context | None:
    """The context a number found nowhere contradicts: of the contexts that state numbers and share a word with the
    claim, the one covering the claim word nearest to that number ("rainy and 20°C" -> the weather result, not the
    clock result that covers more of the claim), ties to the one covering more. None when no such context exists."""
    text_words = words.content - words.numbers
    candidates = [
        c for c, bound in zip(contexts, _bounds(contexts, text_words)) if bound and c.words.numbers and text_words & c.words.content
    ]
    if not candidates:
        return None
    order = _ordered_words(claim)
    spots = [i for i, word in enumerate(order) if word in novel]
    candidates = sorted(candidates, key=lambda c: -len(text_words & c.words.content))[:50]  # the closest 50 are plenty
    covers = {id(c): text_words & c.words.content for c in candidates}

    def distance(context: _Context) -> tuple[int, int]:
        # Words only this candidate covers say where its facts sit in the claim ("rainy" vs "local time").
        others = frozenset().union(*(covers[id(c)] for c in candidates if c is not context))
        own = covers[id(context)] - others or covers[id(context)]
        near = min((abs(i - j) for j, word in enumerate(order) if word in own for i in spots), default=len(order))
        return near, -len(words.content & context.words.content)

    return min(candidates, key=distance)


def _ordered_words(text: str) -> list[str]:
    """The claim's words in order, as `_words` reads them (for distances between them)."""
    lowered = text.lower().replace("’", "'")
    if "'" in lowered:
        lowered = _CLITIC.sub("", _CONTRACTED_NOT.sub(_expand, lowered))
    return [_stem(t) for t in _TOKEN.findall(_NUMBER.sub(lambda m: f" {_number(m[1])} ", lowered))]


def _negation(words: _Words, context: _Context) -> str:
    """Why a context that covers most of the claim states its opposite, or ""."""
    if not (words.negated or context.words.negated) and context.plain:
        # The lines and sentences of a plain text are cut at whitespace: none has a negation the whole text lacks.
        return ""
    best = max(context.segments(), key=lambda s: (_coverage(words, s), s.negated == words.negated), default=None)
    if best is not None and _coverage(words, best) > 0.5 and best.negated != words.negated:
        return "it states the opposite (negation differs)"
    return ""


# -- reporting -------------------------------------------------------------------------------------------------------

def _finding(verdict: _Verdict) -> Finding:
    where = verdict.context.place if verdict.context else "any tool output"
    span = verdict.context.span_id if verdict.context else None
    evidence = {"claim": verdict.claim, "coverage": round(verdict.coverage, 4), "context": verdict.context.label if verdict.context else None}
    if verdict.label == CONTRADICTED:
        return Finding("faithfulness.contradicted", CRITICAL, f'claim "{_cut(verdict.claim)}" is contradicted by {where}: {verdict.reason}', span, evidence)
    closest = f"; closest: {where}" if verdict.context else ""
    return Finding("faithfulness.unsupported", WARN, f'claim "{_cut(verdict.claim)}" is unsupported ({verdict.reason}){closest}', span, evidence)


def _where(verdict: _Verdict) -> str:
    """", get_weather result (span 3b) + get_time result (span 4c)": the contexts a bullet's coverage comes from."""
    places = [c.place for c in verdict.sources] or ([verdict.context.place] if verdict.context else [])
    return ", " + " + ".join(places) if places else ""


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _explain(score: float, verdicts: list[_Verdict], count: dict[str, int], neutral_credit: float) -> str:
    """`Faithfulness 0.50 — 2 claims; 1 supported by get_weather result (span 3b); 1 unsupported: "…" (why).`"""
    parts = [f"{len(verdicts)} claim{'s' if len(verdicts) != 1 else ''}"]
    if count[SUPPORTED]:
        places = list(dict.fromkeys(c.place for v in verdicts if v.label == SUPPORTED for c in v.sources))
        parts.append(f"{count[SUPPORTED]} supported by {', '.join(places[:2])}{f' and {len(places) - 2} more' if len(places) > 2 else ''}")
    if count[NEUTRAL]:
        parts.append(f"{count[NEUTRAL]} partly supported (credit {neutral_credit:g})")
    for label in (CONTRADICTED, UNSUPPORTED):
        if count[label]:
            first = next(v for v in verdicts if v.label == label)
            why = f"contradicted by {first.context.place}: {first.reason}" if label == CONTRADICTED else first.reason
            parts.append(f'{count[label]} {label}: "{_cut(first.claim)}" ({why})')
    bullets = "".join(f"\n- {v.label} ({v.coverage:.2f}{_where(v)}): \"{_cut(v.claim)}\"" for v in verdicts)
    return f"Faithfulness {score:.2f} — " + "; ".join(parts) + "." + bullets
