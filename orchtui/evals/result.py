"""The result every evaluator returns, and the label rule of design/evaluators.md §8.0."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..analysis.findings import Finding

PASS, WARN, FAIL, NOT_APPLICABLE = "pass", "warn", "fail", "n/a"


@dataclass
class EvalResult:
    evaluator: str
    score: float | None  # 0..1, 1 = good; None = not applicable
    threshold: float
    passed: bool | None
    label: str  # pass | warn | fail | n/a
    explanation: str  # one line, then "- " bullets naming spans and values
    findings: list[Finding] = field(default_factory=list)
    components: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    mode: str = "deterministic"  # deterministic | llm | hybrid
    version: str = "1"
    judge: dict[str, Any] | None = None  # {model, prompt_version, samples, raw[, error]} when an LLM judge was asked

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "evaluator": self.evaluator,
            "score": None if self.score is None else round(self.score, 4),
            "passed": self.passed,
            "label": self.label,
            "threshold": self.threshold,
            "explanation": self.explanation,
            "findings": [finding.to_json() for finding in self.findings],
            "components": {k: (None if v is None else round(v, 4)) for k, v in self.components.items()},
        }
        # Additive: documents of runs without a judge stay as they were.
        if self.mode != "deterministic" or self.judge is not None:
            document["mode"] = self.mode
        if self.judge is not None:
            document["judge"] = self.judge
        return document


def make_result(
    evaluator: str,
    score: float | None,
    threshold: float,
    explanation: str,
    findings: list[Finding] | None = None,
    *,
    strictly_greater: bool = False,
    **extra: Any,
) -> EvalResult:
    """Apply the label rule: None -> n/a; score >= threshold -> pass (warnings shown); below with no critical
    finding -> warn; below with a critical finding -> fail. `strictly_greater` for PromptInjection (risk < 0.7)."""
    findings = findings or []
    if score is None:
        passed, label = None, NOT_APPLICABLE
    else:
        score = max(0.0, min(1.0, score))
        ok = score > threshold if strictly_greater else score >= threshold - 1e-9
        if ok:
            passed, label = True, PASS
        else:
            passed = False
            label = FAIL if any(f.severity == "critical" for f in findings) else WARN
    return EvalResult(evaluator, score, threshold, passed, label, explanation, findings, **extra)
