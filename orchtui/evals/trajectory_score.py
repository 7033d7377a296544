"""TrajectoryScore (design/evaluators.md §8.3): one number for "did this run go well".

A weighted mean of TaskCompletion (0.4), StepEfficiency (0.3) and ToolSelectionAccuracy (0.3), renormalised over
the components that have a score, optionally with TrajectoryMatch recall (0.3). A critical loop, stop-reason or
injection finding caps it at 0.49 so a composite can never hide a failure behind good averages. Given a judge, the
three parts are judged too (their hybrid scores; the verdicts come from the judge's cache when the run already asked
them). TrajectoryJudge is the LLM variant.
"""

from __future__ import annotations

from .reference import Reference
from .result import EvalResult, make_result
from .trajectory import Trajectory

NAME = "TrajectoryScore"
OPTIONS = {"include_match": False, "critical_cap": True, "threshold": 0.7, "judge": None}
WEIGHTS = {"TaskCompletion": 0.4, "StepEfficiency": 0.3, "ToolSelectionAccuracy": 0.3}
CAPPING = ("LoopDetection", "StopReason", "PromptInjection")
CAP = 0.49


def run(trajectory: Trajectory, reference: Reference, *, include_match: bool, critical_cap: bool, threshold: float, judge=None) -> EvalResult:
    from . import evaluate

    weights = dict(WEIGHTS)
    parts = {name: evaluate(name, trajectory, reference, judge=judge) for name in weights}
    components: dict[str, float | None] = {name: result.score for name, result in parts.items()}
    if include_match and reference.expected_calls() is not None:
        match = evaluate("TrajectoryMatch", trajectory, reference, mode="superset")
        components["TrajectoryMatch"] = match.components.get("recall")
        weights["TrajectoryMatch"] = 0.3
    present = {name: score for name, score in components.items() if score is not None}
    if not present:
        return make_result(NAME, None, threshold, "Trajectory: n/a — no component could be scored.", components=components)
    total = sum(weights[name] for name in present)
    score = sum(weights[name] * value for name, value in present.items()) / total
    formula = " + ".join(f"{weights[n]:.1f}×{n} {v:.2f}" for n, v in present.items())
    skipped = [name for name in components if name not in present]
    note = f"weights renormalised: {', '.join(skipped)} not scored" if skipped else "weights renormalised: none"
    findings = []
    if critical_cap:
        for name in CAPPING:
            result = evaluate(name, trajectory, reference)
            critical = [f for f in result.findings if f.severity == "critical"]
            if critical and score > CAP:
                score = CAP
                note += f"; capped at {CAP} by {name}: {critical[0].code}"
            findings += critical
    explanation = f"Trajectory {score:.2f} = {formula} ({note})."
    mode = "hybrid" if any(part.mode != "deterministic" for part in parts.values()) else "deterministic"
    return make_result(NAME, score, threshold, explanation, findings, components=components, mode=mode)
