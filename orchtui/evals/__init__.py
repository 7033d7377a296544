"""Evaluators over a trace's trajectory, deterministic by default (specification: design/evaluators.md).

    from orchtui.evals import Trajectory, evaluate, EVALUATORS
    result = evaluate("TrajectoryMatch", Trajectory.from_trace(analysis),
                      reference={"expected_tool_calls": [{"name": "lookup_policy"}]}, mode="in_order")
    result.score, result.passed, result.label, result.explanation, result.findings

Each evaluator module declares its NAME, OPTIONS (name -> default) and `run(trajectory, reference, **options)`.
`evaluate` checks the name and the options before running, so a typo is a clear ValueError, not a silent default.
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
    if name not in MODULES:
        raise ValueError(f"unknown evaluator {name!r}; known: {', '.join(EVALUATORS)}")
    return importlib.import_module(f"{__name__}.{MODULES[name]}")


def evaluate(name: str, trajectory: Trajectory, reference: Reference | dict[str, Any] | None = None, **options: Any) -> EvalResult:
    module = module_for(name)
    unknown = sorted(set(options) - set(module.OPTIONS))
    if unknown:
        raise ValueError(f"{name} has no option(s) {', '.join(unknown)}; its options: {', '.join(sorted(module.OPTIONS)) or 'none'}")
    reference = Reference.of(reference)
    merged = {**module.OPTIONS, **options}
    # Composites (TrajectoryScore) re-ask for their parts: one run per trajectory, evaluator and settings.
    key = (name, repr(reference), repr(sorted(merged.items())))
    cached = trajectory.results.get(key)
    if cached is None:
        cached = trajectory.results[key] = module.run(trajectory, reference, **merged)
    return cached


__all__ = ["EVALUATORS", "JUDGED", "REFERENCE_FREE", "Context", "EvalResult", "LLMCall", "Reference", "Trajectory", "evaluate", "takes_judge"]
