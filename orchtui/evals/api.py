"""The evaluators as classes: options in the constructor, the run in `.evaluate(...)` with natural keywords.

    from orchtui.evals import ToolSelectionAccuracy, TrajectoryScore
    tool = ToolSelectionAccuracy().evaluate(input=user_goal, output=chosen_tool, expected=expected_tool)
    path = TrajectoryScore().evaluate(trajectory=trace_spans)
    print(tool.score, path.score)

A thin layer over `orchtui.evals.evaluate(name, trajectory, reference, **options)`: the constructor checks its
options exactly as `evaluate` does (a typo is a ValueError), `.evaluate` turns what it is given into a Trajectory
and a Reference and returns the same EvalResult (.score, .passed, .label, .explanation, .findings).

What `.evaluate` reads:
- `trajectory` (or the first positional argument): a Trajectory; a TraceAnalysis; a list of spans
  (parsers.span.Span) of one trace; OpenAI-style chat messages (a list, or a dict with "messages"); FutureAGI's
  AgentTrajectoryInput (dict or pydantic object: its task and expected result become the reference); a path to a
  trace file holding one trace. A list of trajectories or of AgentTrajectoryInputs evaluates each and returns a
  list of results (FutureAGI's `.evaluate([inputs])` call shape).
- `input`: the user's request (the run's user input).
- `output`: what the agent produced. A string is the chosen tool's name for ToolSelectionAccuracy and
  TrajectoryMatch, the final answer for every other evaluator; a list of names, a tool-call dict or a list of them
  are the tool calls (`{"name", "args"|"arguments", "status", "result"}` or OpenAI's `{"function": {...}}`); a list
  of chat messages is the whole transcript. Given with a trajectory, it replaces that part of it.
- `expected`: what should have happened. A string is the expected tool for ToolSelectionAccuracy and
  TrajectoryMatch, the expected answer otherwise; a list of names or tool-call dicts the expected calls; chat
  messages the expected transcript; an int the optimal number of steps; a dict of reference keys or a Reference
  as it is.
- `context`: a text or a list of texts the answer should be grounded in (retrieved documents), added to the run's
  tool results.
- `reference` and reference keys as keywords (`required_tools=`, `available_tools=`, `max_steps=`,
  `success_criteria=`, `expected_output=`, ...), later ones winning.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

from parsers.span import Span

from ..analysis import TraceAnalysis
from . import check_options, evaluate
from . import futureagi as _futureagi
from .reference import Reference
from .trajectory import Context, Trajectory, _text

# Evaluators whose `output`/`expected` strings name tools (the others read them as answers).
TOOL_TEXT = ("ToolSelectionAccuracy", "TrajectoryMatch")
REFERENCE_KEYS = tuple(field.name for field in dataclasses.fields(Reference))


class Evaluator:
    """One evaluator with its settings; `.evaluate(...)` runs it on one run (or each of a list)."""

    name: ClassVar[str]

    def __init__(self, *, profile: str = "default", **options: Any) -> None:
        self.profile = profile
        self.options = dict(options)
        check_options(self.name, self.options, profile)  # the same check as evaluate(): a typo is a ValueError

    def __repr__(self) -> str:
        settings = [f"profile={self.profile!r}"] if self.profile != "default" else []
        settings += [f"{key}={value!r}" for key, value in self.options.items()]
        return f"{type(self).__name__}({', '.join(settings)})"

    def evaluate(
        self,
        trajectory: Any = None,
        *,
        input: str | None = None,
        output: Any = None,
        expected: Any = None,
        context: str | list[str] | None = None,
        reference: Reference | dict[str, Any] | None = None,
        **reference_keys: Any,
    ) -> Any:
        unknown = sorted(set(reference_keys) - set(REFERENCE_KEYS))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.evaluate() got unexpected keyword(s) {', '.join(unknown)}: it takes trajectory, "
                f"input, output, expected, context, reference and the reference keys ({', '.join(REFERENCE_KEYS)}); "
                f"options such as threshold go to the constructor: {type(self).__name__}(threshold=...)"
            )
        if _is_batch(trajectory):
            return [
                self.evaluate(item, input=input, output=output, expected=expected, context=context, reference=reference, **reference_keys)
                for item in trajectory
            ]
        run, carried = _trajectory(trajectory)
        run = _with_parts(run, self.name, input, output, context)
        merged = _reference(self.name, carried, reference, expected, reference_keys)
        return evaluate(self.name, run, merged, profile=self.profile, **self.options)


# -- what a run is given as ------------------------------------------------------------------------------------------

def _is_batch(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, (Trajectory, TraceAnalysis)) or _futureagi.is_agent_input(item) for item in value)
    )


def _trajectory(value: Any) -> tuple[Trajectory | None, dict[str, Any]]:
    """(the run, the reference it carries): only FutureAGI's data carries one (its task and expected result)."""
    if value is None or isinstance(value, Trajectory):
        return value, {}
    if isinstance(value, TraceAnalysis):
        return Trajectory.from_trace(value), {}
    if isinstance(value, (str, os.PathLike)):
        found = Trajectory.from_file(value)
        if len(found) != 1:
            raise ValueError(f"{os.fspath(value)} holds {len(found)} traces; evaluate each of Trajectory.from_file(path)")
        return found[0], {}
    if _futureagi.is_agent_input(value):
        run = Trajectory.from_futureagi(value)
        return run, _futureagi.reference_of(run.agent_input)
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return Trajectory.from_messages(value["messages"]), {}
    if isinstance(value, (list, tuple)):
        items = list(value)
        if items and all(isinstance(item, Span) for item in items):
            found = Trajectory.from_spans(items)
            if len(found) != 1:
                raise ValueError(f"the spans belong to {len(found)} traces; evaluate each of Trajectory.from_spans(spans)")
            return found[0], {}
        if all(_is_message(item) for item in items):
            return Trajectory.from_messages(items), {}
    raise TypeError(
        "trajectory must be a Trajectory, a TraceAnalysis, a list of spans of one trace, OpenAI chat messages, "
        f"a FutureAGI AgentTrajectoryInput or a trace file path, not {_describe(value)}"
    )


def _with_parts(run: Trajectory | None, name: str, user_input: Any, output: Any, context: Any) -> Trajectory:
    """The run with `input`, `output` and `context` put in (a copy: the caller's trajectory is not changed)."""
    changes: dict[str, Any] = {}
    if user_input is not None:
        changes["user_input"] = str(user_input)
    if output is not None:
        if isinstance(output, dict) and isinstance(output.get("messages"), list):
            output = output["messages"]
        if isinstance(output, (list, tuple)) and output and all(_is_message(item) for item in output):
            transcript = Trajectory.from_messages(list(output))
            if run is None:
                run = transcript
            else:  # the transcript replaces what the run did
                changes.update(tool_calls=transcript.tool_calls, llm_calls=transcript.llm_calls, final_output=transcript.final_output,
                               contexts=transcript.contexts, messages=transcript.messages, analysis=None, agent_input=None)
        elif isinstance(output, str) and name not in TOOL_TEXT:
            changes["final_output"] = output
        elif name not in TOOL_TEXT and not _call_like(output):  # a structured answer (FutureAGI's final_result: Any)
            changes["final_output"] = _text(output)
        else:
            calls = Trajectory.from_parts(tool_calls=_calls(output, "output"))
            # The calls replace the run's (and their results its tool-result contexts): the trace's own analysis and
            # FutureAGI steps no longer describe it.
            changes.update(tool_calls=calls.tool_calls, contexts=calls.contexts, messages=None, analysis=None, agent_input=None)
    if context is not None:
        texts = [context] if isinstance(context, str) else list(context)
        if not all(isinstance(text, str) for text in texts):
            raise TypeError(f"context must be a text or a list of texts, not {_describe(context)}")
        base = changes.get("contexts", run.contexts if run is not None else [])
        changes["contexts"] = base + [Context(text, None, "retrieved_doc", f"context {i}") for i, text in enumerate(texts, 1)]
    if run is None:
        if not changes:
            raise TypeError("nothing to evaluate: give trajectory=, or input=/output=/context=")
        return Trajectory(**changes)
    if not changes:
        return run
    return dataclasses.replace(run, **changes, results={})


def _reference(name: str, carried: dict[str, Any], reference: Any, expected: Any, keys: dict[str, Any]) -> Reference:
    merged = dict(carried)
    if reference is not None:
        merged.update(_reference_fields(Reference.of(reference) if isinstance(reference, dict) else reference))
    if expected is not None:
        merged.update(_expected(name, expected))
    merged.update(keys)
    return Reference.of(merged)


def _reference_fields(reference: Reference) -> dict[str, Any]:
    if not isinstance(reference, Reference):
        raise TypeError(f"reference must be a Reference or a dict of reference keys, not {_describe(reference)}")
    return {key: value for key, value in dataclasses.asdict(reference).items() if value is not None}


def _expected(name: str, expected: Any) -> dict[str, Any]:
    """`expected` as reference keys (see the module docstring)."""
    if isinstance(expected, Reference):
        return _reference_fields(expected)
    if isinstance(expected, bool):
        raise TypeError("expected must be a tool, an answer, calls, messages, a step count or reference keys, not a bool")
    if isinstance(expected, int):
        return {"optimal_steps": expected}
    if isinstance(expected, str):
        return {"expected_tool_calls": [{"name": expected}]} if name in TOOL_TEXT else {"expected_output": expected}
    if isinstance(expected, dict):
        if isinstance(expected.get("messages"), list):
            return {"expected_messages": expected["messages"]}
        if _is_message(expected):
            return {"expected_messages": [expected]}
        if "name" in expected or "function" in expected:
            return {"expected_tool_calls": _calls(expected, "expected")}
        return _reference_fields(Reference.of(expected))
    if isinstance(expected, (list, tuple)):
        items = list(expected)
        if items and all(_is_message(item) for item in items):
            return {"expected_messages": items}
        return {"expected_tool_calls": _calls(items, "expected")}
    raise TypeError(f"expected must be a tool, an answer, calls, messages, a step count or reference keys, not {_describe(expected)}")


def _calls(value: Any, what: str) -> list[dict[str, Any]]:
    """Tool calls given as names, dicts or OpenAI tool calls, as `{"name", "args"?, ...}`."""
    items = value if isinstance(value, (list, tuple)) else [value]
    calls = []
    for item in items:
        if isinstance(item, str):
            calls.append({"name": item})
        elif isinstance(item, dict) and isinstance(item.get("function"), dict):
            function = item["function"]
            call = {"name": function.get("name")}
            if "arguments" in function:
                call["args"] = function["arguments"]
            calls.append({**{k: v for k, v in item.items() if k not in ("function", "type", "id")}, **call})
        elif isinstance(item, dict) and item.get("name"):
            call = {key: value for key, value in item.items() if key != "arguments"}
            if "arguments" in item and "args" not in item:
                call["args"] = item["arguments"]
            calls.append(call)
        else:
            raise TypeError(f"{what} tool calls are names or dicts with a name, not {_describe(item)}")
        if not calls[-1].get("name"):
            raise TypeError(f"{what} tool call without a name: {item!r}"[:200])
    return calls


def _call_like(value: Any) -> bool:
    """A tool call, or a list of names or calls (what `output` means as calls)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return all(isinstance(item, str) or (isinstance(item, dict) and (item.get("name") or isinstance(item.get("function"), dict))) for item in items)


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


# -- one class per evaluator -----------------------------------------------------------------------------------------

class ToolSelectionAccuracy(Evaluator):
    """Were the right tools chosen (design/evaluators.md §8.1)? Options: match_args, tool_args_match_mode,
    tool_args_match_overrides, count_duplicates, threshold (0.8), judge; profile="futureagi"."""

    name = "ToolSelectionAccuracy"


class TaskCompletion(Evaluator):
    """Did the run end normally and, given an expected answer or criteria, succeed (§8.2)? Options: threshold
    (0.7), outcome_match_threshold, judge; profile="futureagi"."""

    name = "TaskCompletion"


class TrajectoryMatch(Evaluator):
    """Does the run's path match a reference trajectory (§8.3; agentevals modes)? Options: mode (strict),
    tool_args_match_mode, tool_args_match_overrides, threshold."""

    name = "TrajectoryMatch"


class TrajectoryScore(Evaluator):
    """One number for the run: completion, efficiency and tool selection (§8.3). Options: include_match,
    critical_cap, threshold (0.7), judge; profile="futureagi"."""

    name = "TrajectoryScore"


class TrajectoryJudge(Evaluator):
    """An LLM judge's opinion of the whole path (agentevals' rubric); n/a without `judge=`. Options: continuous,
    threshold, judge."""

    name = "TrajectoryJudge"


class StepEfficiency(Evaluator):
    """Length against a reference or budget, redundancy and errors (§8.4). Options: unit, weights, threshold
    (0.6), judge; profile="futureagi"."""

    name = "StepEfficiency"


class LoopDetection(Evaluator):
    """Repeated calls, ping-pong, no progress, stagnation, recursion, runtime caps (§8.5)."""

    name = "LoopDetection"


class StopReason(Evaluator):
    """Missing or abnormal stop reasons (§8.6). Options: expected_finish_reason, threshold."""

    name = "StopReason"


class PromptInjection(Evaluator):
    """Offline prompt-injection detectors over user text, tool results and outputs (§8.7). Option: threshold."""

    name = "PromptInjection"


class Faithfulness(Evaluator):
    """Is the answer grounded in tool outputs and the given context (§8.8)? Options: threshold (0.7),
    neutral_credit, include_user_input, penalize_ambiguous, judge."""

    name = "Faithfulness"


__all__ = [
    "Evaluator", "Faithfulness", "LoopDetection", "PromptInjection", "StepEfficiency", "StopReason", "TaskCompletion",
    "ToolSelectionAccuracy", "TrajectoryJudge", "TrajectoryMatch", "TrajectoryScore",
]
