"""Running evaluators over many traces, and the reports `orchtui eval` prints (table, JSON, JUnit XML).

Shared by the CLI and the TUI's `e`: a trace's evaluators and reference come from the gate route matching its
root span name, else the reference-free set runs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from parsers.span import ReadError

from .analysis import TraceAnalysis
from .evals import JUDGED, REFERENCE_FREE, EvalResult, Trajectory, evaluate, takes_judge
from .gate import Route, route_for
from .textsafe import printable

if TYPE_CHECKING:
    from .batch_gate import LimitResult

JSON_VERSION = 1


@dataclass
class TraceEvaluation:
    analysis: TraceAnalysis
    route: Route | None
    results: list[EvalResult]

    @property
    def passed(self) -> bool:
        return all(result.passed is not False for result in self.results)


def evaluate_trace(
    analysis: TraceAnalysis, routes: list[Route] | None = None, names: list[str] | None = None, judge=None
) -> TraceEvaluation:
    """A trace's evaluators: the given names, else its route's, else the reference-free set (plus the LLM-only
    evaluators when there is a judge). Every evaluator with an LLM mode gets the judge."""
    route = route_for(analysis.name, routes) if routes else None
    default = list(REFERENCE_FREE) + (list(JUDGED) if judge is not None else [])
    selected = names or (list(route.evaluators) if route is not None else default)
    trajectory = Trajectory.from_trace(analysis)
    results = []
    for name in selected:
        options: dict[str, Any] = dict(route.options.get(name, {})) if route is not None else {}
        if route is not None and name in route.thresholds:
            options["threshold"] = route.thresholds[name]
        if judge is not None and takes_judge(name):
            options["judge"] = judge
        results.append(evaluate(name, trajectory, route.reference if route is not None else None, **options))
    return TraceEvaluation(analysis, route, results)


def eval_document(evaluations: list[TraceEvaluation], errors: list[ReadError], limits: Sequence[LimitResult] = ()) -> dict[str, Any]:
    return {
        "version": JSON_VERSION,
        "results": [
            {"trace_id": e.analysis.trace_id, "trace": e.analysis.name, "route": e.route.match if e.route else None, **r.to_json()}
            for e in evaluations
            for r in e.results
        ],
        "route_limits": [limit.to_json() for limit in limits],
        "errors": [{"source": error.source, "message": error.message} for error in errors],
    }


def junit_xml(evaluations: list[TraceEvaluation], limits: Sequence[LimitResult] = ()) -> str:
    """One testcase per trace x evaluator, then one per route limit; `warn` and `fail` are failures, `n/a` is
    skipped."""
    cases = [(e, r) for e in evaluations for r in e.results]
    suites = ElementTree.Element("testsuites")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="orchtui eval",
        tests=str(len(cases)),
        failures=str(sum(1 for _, r in cases if r.passed is False)),
        skipped=str(sum(1 for _, r in cases if r.passed is None)),
    )
    for evaluation, result in cases:
        case = ElementTree.SubElement(
            suite, "testcase", classname=_xml_text(evaluation.analysis.name), name=_xml_text(f"{result.evaluator} [{evaluation.analysis.trace_id[:16]}]")
        )
        if result.passed is False:
            score = "n/a" if result.score is None else f"{result.score:.4f}"
            failure = ElementTree.SubElement(case, "failure", message=_xml_text(f"{result.label}: score {score} < {result.threshold}"))
            failure.text = _xml_text(result.explanation)
        elif result.passed is None:
            ElementTree.SubElement(case, "skipped", message=_xml_text(result.explanation.splitlines()[0]))
    if limits:
        _junit_limits(suites, limits)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


def _junit_limits(suites: ElementTree.Element, limits: Sequence[LimitResult]) -> None:
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="orchtui route limits",
        tests=str(len(limits)),
        failures=str(sum(1 for limit in limits if limit.passed is False)),
        skipped=str(sum(1 for limit in limits if limit.passed is None)),
    )
    for limit in limits:
        case = ElementTree.SubElement(suite, "testcase", classname=_xml_text(f"route {limit.route.match}"), name=_xml_text(limit.limit))
        if limit.passed is False:
            ElementTree.SubElement(case, "failure", message=_xml_text(limit.explanation))
        elif limit.passed is None:
            ElementTree.SubElement(case, "skipped", message=_xml_text(limit.explanation))


def _xml_text(text: str) -> str:
    """Every string of the report passes here. XML 1.0 cannot hold most control characters, lone surrogates,
    U+FFFE or U+FFFF (a parser rejects the whole file): `printable` shows all of them escaped, as everywhere else."""
    return printable(text)

