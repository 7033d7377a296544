"""LoopDetection (design/evaluators.md §8.5): repetition (D1 D2 D3 D6), reasoning stagnation (D4), recursion (D5).

D1-D3 and D6 are the analysis's own detectors (one implementation for flags and evaluations), run here with the
evaluator's thresholds. D4 and D5 follow deepeval's AgentLoopDetection algorithm (reference §3.7) exactly.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import orjson

from ..analysis.findings import CRITICAL, WARN, Finding
from ..analysis.loops import no_progress as no_progress_detector
from ..analysis.loops import repeated_calls, runtime_limit, short_cycles
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "LoopDetection"
OPTIONS = {
    "repetition_threshold": 3,
    "similarity_threshold": 0.85,
    "pingpong_cycles": (3, 4),
    "no_progress": (5, 10),
    "detectors": ("D1", "D2", "D3", "D4", "D5", "D6"),
    "threshold": 0.8,
}
WEIGHTS = {"repetition": 0.40, "stagnation": 0.35, "cycles": 0.25}
STAGNATION_STOP_WORDS = frozenset(
    "the a an is are was were i will now based on information provided to of in and that this with for it my next "
    "step going so do be have has not but as or from at by about above below up its let".split()
)
CYCLE_KINDS = frozenset({"agent", "tool", "retriever", "llm", "handoff"})
_WORD = re.compile(r"[a-z0-9']+")


def run(trajectory: Trajectory, reference: Reference, *, repetition_threshold, similarity_threshold, pingpong_cycles, no_progress: tuple, detectors, threshold) -> EvalResult:  # noqa: E501
    enabled = set(detectors)
    calls = trajectory.tool_calls
    if not calls and not trajectory.llm_calls and trajectory.analysis is None:
        return make_result(NAME, None, threshold, "Loop detection: n/a — the trace has no steps.")
    findings: list[Finding] = []
    if "D1" in enabled:
        findings += repeated_calls(calls, repetition_threshold)
    if "D2" in enabled:
        findings += short_cycles(calls, *pingpong_cycles)
    if "D3" in enabled:
        flagged = frozenset(f.evidence["name"] for f in findings if f.code == "loop.repeated_call")
        findings += no_progress_detector(calls, int(no_progress[0]), int(no_progress[1]), skip_names=flagged)
    if "D6" in enabled:
        if trajectory.analysis is not None:
            findings += runtime_limit(trajectory.analysis.tree.ordered)
        elif trajectory.runtime_limit:
            findings.append(Finding("loop.runtime_limit", CRITICAL, f"runtime loop cap hit: {trajectory.runtime_limit[:200]}"))
    repetition = min((0.0 if f.severity == CRITICAL else 0.5 for f in findings), default=1.0)

    components: dict[str, float | None] = {"repetition": repetition if enabled & {"D1", "D2", "D3", "D6"} else None}
    if "D4" in enabled:
        stagnation, stagnation_finding = _stagnation(trajectory, similarity_threshold)
        components["stagnation"] = stagnation
        if stagnation_finding is not None:
            findings.append(stagnation_finding)
    if "D5" in enabled:
        cycles, cycle_finding = _recursion_cycle(trajectory)
        components["cycles"] = cycles
        if cycle_finding is not None:
            findings.append(cycle_finding)
    present = {name: value for name, value in components.items() if value is not None}
    score = sum(WEIGHTS[n] * v for n, v in present.items()) / sum(WEIGHTS[n] for n in present) if present else 1.0
    if findings:
        worst = sorted(findings, key=lambda f: f.severity != CRITICAL)[0]
        explanation = f"Loop detected — {worst.message}" + "".join(f"\n- {f.severity} {f.code}: {f.message}" for f in findings)
    else:
        explanation = f"No loop — {len(calls)} tool calls, {len(trajectory.llm_calls)} LLM calls, no repetition, cycle or stagnation."
    return make_result(NAME, score, threshold, explanation, findings, components=components)


def _clean_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STAGNATION_STOP_WORDS and len(w) > 2]


def _stagnation(trajectory: Trajectory, threshold: float) -> tuple[float, Finding | None]:
    """D4: consecutive LLM outputs that say nearly the same thing (deepeval: bigram Jaccard or sequence ratio).

    A looping agent repeats the same few outputs thousands of times, so words are cleaned once per distinct text
    and a pair of texts is scored once. A cached score is safe: the full ratio is skipped only when it could not
    raise the best so far, and the best only grows."""
    words: dict[str, list[str]] = {}
    scores: dict[tuple[str, str], float] = {}
    best, pair = 0.0, None
    outputs = [(call.span_id, call.output_text) for call in trajectory.llm_calls]
    for (first_id, first_text), (second_id, second_text) in zip(outputs, outputs[1:]):
        key = (first_text, second_text)
        similarity = scores.get(key)
        if similarity is None:
            a = words.get(key[0])
            if a is None:
                a = words[key[0]] = _clean_words(key[0])
            b = words.get(key[1])
            if b is None:
                b = words[key[1]] = _clean_words(key[1])
            similarity = scores[key] = _similarity(a, b, best)
        if similarity > best:
            best, pair = similarity, (first_id, second_id)
            if best > 0.95:
                break  # the worst verdict is reached: no pair can change it
    if best > 0.95:
        return 0.0, Finding("loop.stagnation", CRITICAL, f"consecutive LLM outputs are {best:.0%} similar: the agent repeats its reasoning", pair[1] if pair else None)
    if best >= threshold:
        return 0.5, Finding("loop.stagnation", WARN, f"consecutive LLM outputs are {best:.0%} similar (threshold {threshold:.0%})", pair[1] if pair else None)
    return 1.0, None


def _similarity(a: list[str], b: list[str], best: float) -> float:
    if len(a) < 20 or len(b) < 20:
        return 0.0
    bigrams_a, bigrams_b = set(zip(a, a[1:])), set(zip(b, b[1:]))
    jaccard = len(bigrams_a & bigrams_b) / len(bigrams_a | bigrams_b) if bigrams_a | bigrams_b else 0.0
    matcher = SequenceMatcher(None, " ".join(a), " ".join(b), autojunk=False)
    if matcher.real_quick_ratio() > max(best, jaccard) and matcher.quick_ratio() > max(best, jaccard):
        return max(jaccard, matcher.ratio())  # the full ratio only when it could raise the maximum
    return jaccard


def _recursion_cycle(trajectory: Trajectory) -> tuple[float, Finding | None]:
    """D5: the same `kind:name:input[:64]` twice on one root-to-leaf ancestry path (siblings do not count).

    A label can only repeat where an ancestor has the same kind and name, so the input (parsed and re-serialised
    with sorted keys, the costly part on a long trace) is only read for those spans, and once each."""
    analysis = trajectory.analysis
    if analysis is None:
        return 1.0, None
    tree = analysis.tree
    path: list[list] = []  # [kind:name key or None (a step that cannot repeat), span, label or None until needed]
    for span_id, depth in tree.walk():
        del path[depth:]
        span = tree.spans.get(span_id)
        if span is None:
            path.append([None, None, None])
            continue
        # Only steps with an input can repeat meaningfully: nested runs and HTTP hops re-use names without one.
        key = f"{span.kind}:{span.name}" if span.input is not None and span.kind in CYCLE_KINDS else None
        entry = [key, span, None]
        if key is not None:
            for index, ancestor in enumerate(path):
                if ancestor[0] == key and _label(ancestor) is not None and _label(ancestor) == _label(entry):
                    chain = " -> ".join([a[1].name if a[1] is not None else "(missing parent)" for a in path[index:]] + [span.name])
                    return 0.0, Finding("loop.recursion", CRITICAL, f"cycle in the execution path: {chain}", span_id)
        path.append(entry)
    return 1.0, None


def _label(entry: list) -> str | None:
    """The entry's `kind:name:input[:64]`, computed once; None for a step without input text."""
    if entry[2] is None:
        text = _input_text(entry[1].input)
        entry[2] = f"{entry[0]}:{text[:64]}" if text else ""
    return entry[2] or None


def _input_text(value: str | None) -> str:
    if value is None:
        return ""
    try:
        return orjson.dumps(orjson.loads(value), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONDecodeError:
        return value
