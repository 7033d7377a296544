"""TrajectoryScore (design/evaluators.md §8.3): one number for "did this run go well".

A weighted mean of TaskCompletion (0.4), StepEfficiency (0.3) and ToolSelectionAccuracy (0.3), renormalised over
the components that have a score, optionally with TrajectoryMatch recall (0.3). A critical loop, stop-reason or
injection finding caps it at 0.49, and so does a part that failed (TaskCompletion on a crashed run), so a composite
can never hide a failure behind good averages: the label follows the failed parts (a crashed run was "warn" at 0.21
while a truncated one was "fail" at 0.43, because only the second had a critical finding the label rule could see). Given a judge, the
three parts are judged too (their hybrid scores; the verdicts come from the judge's cache when the run already asked
them). TrajectoryJudge is the LLM variant.
"""

from __future__ import annotations

from ..analysis.findings import CRITICAL, Finding
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
        capping = [(name, evaluate(name, trajectory, reference)) for name in CAPPING]
        capping += [(name, part) for name, part in parts.items() if part.label == "fail"]
        for name, result in capping:
            critical = [f for f in result.findings if f.severity == "critical"]
            if not critical and result.label == "fail":  # a failed part always has one; be safe if not
                critical = [Finding(f"trajectory.{name}_failed", CRITICAL, f"{name} failed: {result.explanation.splitlines()[0]}")]
            if critical and score > CAP:
                score = CAP
                note += f"; capped at {CAP} by {name}: {critical[0].code}"
            elif critical:
                note += f"; critical in {name}: {critical[0].code}"
            findings += [f for f in critical if f not in findings]
    explanation = f"Trajectory {score:.2f} = {formula} ({note})."
    mode = "hybrid" if any(part.mode != "deterministic" for part in parts.values()) else "deterministic"
    return make_result(NAME, score, threshold, explanation, findings, components=components, mode=mode)
