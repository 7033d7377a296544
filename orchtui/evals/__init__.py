"""Evaluators over a trace's trajectory, deterministic by default (specification: design/evaluators.md).

    from orchtui.evals import Trajectory, evaluate, EVALUATORS
    result = evaluate("TrajectoryMatch", Trajectory.from_trace(analysis),
                      reference={"expected_tool_calls": [{"name": "lookup_policy"}]}, mode="in_order")
    result.score, result.passed, result.label, result.explanation, result.findings

Each evaluator module declares its NAME, OPTIONS (name -> default) and `run(trajectory, reference, **options)`.
`evaluate` checks the name and the options before running, so a typo is a clear ValueError, not a silent default.

The same evaluators as classes (api.py), with options in the constructor and natural keywords:

    from orchtui.evals import ToolSelectionAccuracy, TrajectoryScore
    tool = ToolSelectionAccuracy().evaluate(input=user_goal, output=chosen_tool, expected=expected_tool)
    path = TrajectoryScore().evaluate(trajectory=trace_spans)

`profile="futureagi"` (futureagi.py) scores TaskCompletion, StepEfficiency, ToolSelectionAccuracy and
TrajectoryScore with FutureAGI's formulas instead of this project's, for teams comparing numbers.
"""

from __future__ import annotations

import importlib
from typing import Any

from .reference import Reference
from .result import EvalResult
from .trajectory import Context, LLMCall, Trajectory

# Evaluator name -> module (imported on first use).
MODULES = {
    "ToolSelectionAccuracy": "tool_selection",
    "TaskCompletion": "task_completion",
    "TrajectoryMatch": "trajectory_match",
    "TrajectoryScore": "trajectory_score",
    "TrajectoryJudge": "trajectory_judge",  # needs an LLM judge; n/a without one
    "StepEfficiency": "step_efficiency",
    "LoopDetection": "loop_detection",
    "StopReason": "stop_reason",
    "PromptInjection": "prompt_injection",
    "Faithfulness": "faithfulness",
}
EVALUATORS = tuple(MODULES)
# What runs without any reference (the default set of `orchtui eval` and the TUI's `e`); with a judge, JUDGED too.
REFERENCE_FREE = ("TaskCompletion", "StepEfficiency", "LoopDetection", "StopReason", "PromptInjection", "Faithfulness", "TrajectoryScore", "ToolSelectionAccuracy")
JUDGED = ("TrajectoryJudge",)


def takes_judge(name: str) -> bool:
    """Whether the evaluator has an LLM mode (a `judge` option)."""
    return "judge" in module_for(name).OPTIONS


def module_for(name: str):
    module = _LOADED.get(name)
    if module is None:
        if name not in MODULES:
            raise ValueError(f"unknown evaluator {name!r}; known: {', '.join(EVALUATORS)}")
        module = _LOADED[name] = importlib.import_module(f"{__name__}.{MODULES[name]}")
    return module


# Evaluator modules once imported: asked for twice or more per evaluator per trace, and going through the import
# machinery each time cost ~5 µs, a tenth of evaluating a small trace.
_LOADED: dict[str, Any] = {}


PROFILES = ("default", "futureagi")


def options_for(name: str, profile: str = "default") -> dict[str, Any]:
    """The options an evaluator takes under a profile, with their defaults."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    if profile == "futureagi":
        from . import futureagi

        module_for(name)  # an unknown name is reported as such
        if name not in futureagi.OPTIONS:
            raise ValueError(f"profile 'futureagi' covers {', '.join(futureagi.EVALUATORS)}; {name} has only the default profile")
        return futureagi.OPTIONS[name]
    return module_for(name).OPTIONS


def check_options(name: str, options: dict[str, Any], profile: str = "default") -> dict[str, Any]:
    """The options merged over their defaults; a name the evaluator does not take is a ValueError."""
    known = options_for(name, profile)
    unknown = sorted(set(options) - set(known))
    if unknown:
        under = "" if profile == "default" else f" under profile {profile!r}"
        raise ValueError(f"{name} has no option(s) {', '.join(unknown)}{under}; its options: {', '.join(sorted(known)) or 'none'}")
    return {**known, **options}


def evaluate(
    name: str, trajectory: Trajectory, reference: Reference | dict[str, Any] | None = None, *, profile: str = "default", **options: Any
) -> EvalResult:
    merged = check_options(name, options, profile)
    module = module_for(name)
    reference = Reference.of(reference)
    # Composites (TrajectoryScore) re-ask for their parts: one run per trajectory, evaluator and settings.
    key = (name, profile, repr(reference), repr(sorted(merged.items())))
    cached = trajectory.results.get(key)
    if cached is None:
        if profile == "futureagi":
            from . import futureagi

            cached = futureagi.run(name, trajectory, reference, **merged)
        else:
            cached = module.run(trajectory, reference, **merged)
        trajectory.results[key] = cached
    return cached


# The class API (api.py), imported on first use: `from orchtui.evals import TrajectoryScore`.
CLASSES = (*EVALUATORS, "Evaluator")


def __getattr__(attribute: str) -> Any:
    if attribute in CLASSES:
        from . import api

        return getattr(api, attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


__all__ = [
    "EVALUATORS", "JUDGED", "PROFILES", "REFERENCE_FREE", "Context", "EvalResult", "Evaluator", "Faithfulness", "LLMCall",
    "LoopDetection", "PromptInjection", "Reference", "StepEfficiency", "StopReason", "TaskCompletion", "ToolSelectionAccuracy",
    "Trajectory", "TrajectoryJudge", "TrajectoryMatch", "TrajectoryScore", "check_options", "evaluate", "options_for", "takes_judge",
]
