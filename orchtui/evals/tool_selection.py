"""ToolSelectionAccuracy: were the right tools chosen (design/evaluators.md §8.1)?

Not whether they ran successfully — that is StepEfficiency; mixing success into selection is a FutureAGI weakness.
Two parts, combined with `min` (deepeval's rule, so a run cannot buy back a forbidden call with good recall):
validity V (calls to tools that do not exist, are denied, or are not allowed) and selection S (F1 against the
expected calls, or recall of the required tools). A part without input is skipped and the explanation says so,
never defaulted to 1.0; an agent that called nothing when tools were required scores 0, not FutureAGI's 1.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..analysis.calls import ToolCall, canonical_json
from ..analysis.findings import CRITICAL, WARN, Finding
from .judge import BINARY, Consultation, Opinion, Steps, message_step, message_steps, refine
from .matching import call_matcher, max_matching
from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory
from .trajectory_match import selected_calls, show

NAME = "ToolSelectionAccuracy"
OPTIONS = {
    "match_args": False,
    "tool_args_match_mode": "exact",
    "tool_args_match_overrides": None,
    "count_duplicates": False,
    "threshold": 0.8,
    "judge": None,
}
# Phoenix's tool_selection classification criteria, in our words (reference/evaluators.md §5.1).
JUDGE_TASK = (
    "Judge whether the agent selected the right tool(s) at this turn, given the conversation so far and the "
    "available tools. Judge the choice of tools only, not their arguments or results. Score true (correct) only "
    "when all hold: it chose the best available tool for the request, or rightly called no tool when none was "
    "needed; every called tool exists in the available tools; each tool is allowed and safe to call; it called the "
    "right number of tools. Score false (incorrect) when any holds: a hallucinated or nonexistent tool; a tool when "
    "none was needed; a needed tool not called; a suboptimal or irrelevant tool; an unsafe or not permitted tool."
)


def run(
    trajectory: Trajectory,
    reference: Reference,
    *,
    match_args: bool,
    tool_args_match_mode: Any,
    tool_args_match_overrides: dict[str, Any] | None,
    count_duplicates: bool,
    threshold: float,
    judge=None,
) -> EvalResult:
    # Built even when match_args is off, so a mistyped mode is reported rather than silently unused.
    args_matches = call_matcher(tool_args_match_mode, tool_args_match_overrides)
    calls = selected_calls(trajectory)
    validity, validity_text, findings = _validity(calls, reference, trajectory)
    selection, precision, recall, selection_text, selection_findings = _selection(
        calls, reference, args_matches if match_args else lambda a, e: a[0] == e[0], match_args, count_duplicates
    )
    findings += selection_findings
    present = [part for part in (selection, validity) if part is not None]
    components = {"selection": selection, "validity": validity, "precision": precision, "recall": recall}
    if present:
        called = f"called [{_listing([_label(c.name, c.args, match_args) for c in calls])}]" if calls else "no tool called"
        explanation = f"Tool selection {min(present):.2f} — {called}; {selection_text}; {validity_text}."
    else:
        explanation = "Tool selection n/a — no reference and no tool catalogue; give --judge-url for an LLM opinion."
    result = make_result(NAME, min(present, default=None), threshold, explanation, findings, components=components)
    return refine(result, judge, lambda consultation: _opinion(consultation, trajectory, reference, calls, components))


def _opinion(consultation: Consultation, trajectory: Trajectory, reference: Reference, calls: list[ToolCall], components: dict) -> Opinion:
    """Hybrid (§8.1 step 4): each turn judged correct/incorrect, S_llm = correct turns / judged turns, and the
    score is the min of S_llm and the deterministic parts present (deepeval's rule: a judge cannot buy back a
    hallucinated or denied call, nor a missed expected one)."""
    catalogue = _catalogue(trajectory, reference)
    verdicts = [
        (span_id, consultation.ask(JUDGE_TASK, {"conversation": conversation, "available_tools": catalogue, "tool_selection": selection}, BINARY, about=span_id or "run"))
        for span_id, conversation, selection in _turns(trajectory, calls)
    ]
    judged = sum(verdict.score for _, verdict in verdicts) / len(verdicts)
    parts = {"LLM": judged, "selection": components["selection"], "validity": components["validity"]}
    present = {name: value for name, value in parts.items() if value is not None}
    score = min(present.values())
    wrong = [(span_id, verdict) for span_id, verdict in verdicts if verdict.score < 0.5]
    formula = ", ".join(f"{name} {value:.2f}" for name, value in present.items())
    headline = (
        f"Tool selection {score:.2f} = min({formula}) — judge ({consultation.judge.model}): the tool choice was right "
        f"in {len(verdicts) - len(wrong)} of {len(verdicts)} turn(s)"
    )
    findings = [Finding("tool.judged_incorrect", WARN, f"judge: wrong tool choice — {verdict.reasoning}", span_id) for span_id, verdict in wrong]
    return Opinion(score, judged, "hybrid", headline, findings=findings)


def _turns(trajectory: Trajectory, calls: list[ToolCall]) -> list[tuple[str | None, Steps, Steps | str]]:
    """(span, conversation so far, what the turn chose) for every LLM turn that requested tools or answered
    without them; a trajectory without LLM calls is one turn choosing all of its calls."""
    history = [f"user: {trajectory.user_input}"] if trajectory.user_input else []  # when messages were not recorded
    turns: list[tuple[str | None, Steps, Steps | str]] = []
    for call in trajectory.llm_calls:
        requested, answer = call.requested_tool_calls, call.output_text.strip()
        if requested or answer:
            conversation = message_steps(call.input_messages) if call.input_messages else Steps(tuple(history))
            chosen = Steps(tuple(f"{r.name}{canonical_json(r.arguments)}" for r in requested)) if requested else f"(no tool called) answer: {answer}"
            turns.append((call.span_id, conversation, chosen))
        history += [message_step(message) for message in call.output_messages]
    if not turns:
        turns.append((None, Steps(tuple(history)), Steps(tuple(call.describe() for call in calls))))
    return turns


def _catalogue(trajectory: Trajectory, reference: Reference) -> dict[str, str] | str:
    """Tool name -> description, as declared on the LLM requests (or the reference's available tools)."""
    names = reference.available_tools if reference.available_tools is not None else trajectory.available_tools
    if names is None:
        return "not recorded in the trace"
    return {name: trajectory.tool_descriptions.get(name, "") for name in names}


def _validity(calls: list[ToolCall], reference: Reference, trajectory: Trajectory) -> tuple[float | None, str, list[Finding]]:
    """V = valid calls / calls, per call (not per distinct name, a FutureAGI weakness); denial wins (deepeval)."""
    available = reference.available_tools if reference.available_tools is not None else trajectory.available_tools
    allowed, denied = reference.allowed_tools, reference.denied_tools
    if available is None and allowed is None and denied is None:
        return None, "validity not checked (no tool catalogue, allowed or denied tools)", []
    invalid: dict[tuple[str, str], list[ToolCall]] = {}
    for call in calls:
        if denied is not None and call.name in denied:
            problem = "tool.denied"
        elif available is not None and call.name not in available:
            problem = "tool.hallucinated"
        elif allowed is not None and call.name not in allowed:
            problem = "tool.not_allowed"
        else:
            continue
        invalid.setdefault((problem, call.name), []).append(call)
    validity = 1.0 - sum(map(len, invalid.values())) / len(calls) if calls else 1.0
    what = {"tool.denied": "denied", "tool.hallucinated": "not in the available tools", "tool.not_allowed": "not in the allowed tools"}
    findings = [
        Finding(code, CRITICAL, f"{name} is {what[code]}" + (f" (called {len(group)}×)" if len(group) > 1 else ""),
                group[0].span_id, {"calls": len(group), "span_ids": [c.span_id for c in group]})
        for (code, name), group in invalid.items()
    ]
    if not findings:
        return validity, f"all calls valid (validity {validity:.2f})", []
    by_problem: dict[str, list[str]] = {}
    for code, name in invalid:
        by_problem.setdefault(code, []).append(name)
    text = "; ".join(f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} {what[code]}" for code, names in by_problem.items())
    return validity, f"{text} (validity {validity:.2f})", findings


def _selection(
    calls: list[ToolCall], reference: Reference, matches: Callable, match_args: bool, count_duplicates: bool
) -> tuple[float | None, float | None, float | None, str, list[Finding]]:
    """S against expected calls (F1 by maximum bipartite matching), else against required tools (recall)."""
    expected = reference.expected_calls()  # from expected_tool_calls, else from expected_messages
    if expected is None and reference.required_tools:
        used = {call.name for call in calls}
        required = list(dict.fromkeys(reference.required_tools))
        missing = [name for name in required if name not in used]
        score = (len(required) - len(missing)) / len(required)
        text = f"required [{', '.join(required)}]: {len(required) - len(missing)} of {len(required)} used"
        if missing:
            text += f"; {', '.join(missing)} never called"
        return score, None, score, text, [Finding("tool.missing", CRITICAL, f"required tool {name} was never called") for name in missing]
    if expected is None:
        return None, None, None, "selection not checked (no expected_tool_calls or required_tools)", []

    # Items: one per distinct call (set semantics) unless count_duplicates; names only unless match_args.
    def key(name: str, args: Any, given: bool = True) -> tuple:
        return (name, canonical_json(_json_numbers(args)), given) if match_args else (name,)

    actual: dict[Any, list[ToolCall]] = {}
    for index, call in enumerate(calls):
        actual.setdefault(index if count_duplicates else key(call.name, call.args), []).append(call)
    wanted: dict[Any, tuple[str, Any, bool]] = {}
    for index, call in enumerate(expected):
        wanted.setdefault(index if count_duplicates else key(*call), call)
    groups, targets = list(actual.values()), list(wanted.values())
    items = [(g[0].name, g[0].args) for g in groups]
    pairs = max_matching(items, targets, matches)
    n_a, n_e, matched = len(groups), len(targets), len(pairs)
    used_names = {call.name for call in calls}
    missing = [targets[e] for e in range(n_e) if e not in pairs]
    paired = set(pairs.values())
    unmatched = [groups[i] for i in range(n_a) if i not in paired]
    precision = matched / n_a if n_a else None
    recall = matched / n_e if n_e else None
    if not n_a and not n_e:
        return 1.0, 1.0, 1.0, "none expected", []
    if not n_e or not n_a:  # calls when none were expected (ragas rule), or none when some were
        score = 0.0
    else:
        score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected_text = f"expected [{_listing([_label(name, args, match_args and given) for name, args, given in expected])}]" if n_e else "expected no tool calls"
    parts = [expected_text]
    if n_a and n_e:
        parts.append(f"precision {precision:.2f}, recall {recall:.2f} (F1 {score:.2f})")
    # Why each expected item went unmatched: its tool never ran, ran less often, or ran with other arguments.
    why: dict[str, list[str]] = {}
    findings = []
    for name, args, given in missing:
        label = _label(name, args, match_args and given)
        if name not in used_names:
            reason = "never called"
        elif any(matches(item, (name, args, given)) for item in items):
            reason = "called fewer times than expected"
        else:
            reason = "only called with other arguments"
        why.setdefault(reason, []).append(label)
        findings.append(Finding("tool.missing", CRITICAL, f"expected {label} {reason}"))
    parts += [f"{', '.join(labels)} {reason}" for reason, labels in why.items()]
    if unmatched and n_e:
        parts.append(f"{_listing([_label(c.name, c.args, match_args) for g in unmatched for c in g])} not expected")
    findings += [
        Finding("tool.unexpected", WARN, f"{_label(g[0].name, g[0].args, match_args)} was not expected", g[0].span_id,
                {"calls": len(g), "span_ids": [c.span_id for c in g]})
        for g in unmatched
    ]
    return score, precision, recall, "; ".join(parts), findings


def _label(name: str, args: Any, with_args: bool) -> str:
    return show(name, args) if with_args else name


def _listing(labels: list[str]) -> str:
    """`search ×2, read_file` — first-seen order, repeats counted."""
    return ", ".join(f"{label} ×{n}" if n > 1 else label for label, n in Counter(labels).items())


def _json_numbers(value: Any) -> Any:
    """`value` with integral floats as ints, nested: JSON has one number type, so {"x": 1} and {"x": 1.0} are one
    call (§8.0), and distinct calls are counted by their canonical text. Booleans stay booleans."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _json_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_numbers(item) for item in value]
    return value
