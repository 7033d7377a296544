"""Running evaluators over many traces, and the reports `orchtui eval` prints (table, JSON, JUnit XML).

Shared by the CLI and the TUI's `e`: a trace's evaluators and reference come from the gate route matching its
root span name, else the reference-free set runs.

A profile (design/evaluators.md §8.0) says whose formulas score the evaluators that have more than one:
`futureagi` scores TaskCompletion, StepEfficiency, ToolSelectionAccuracy and TrajectoryScore as FutureAGI
ai-evaluation 1.1.0 does (orchtui/evals/futureagi.py, docs/futureagi-profile.md); every other evaluator runs under
the default profile whatever was asked, and each result records which profile it ran under.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from parsers.span import ReadError

from .analysis import TraceAnalysis
from .evals import JUDGED, PROFILES, REFERENCE_FREE, EvalResult, Trajectory, evaluate, takes_judge
from .evals import futureagi
from .gate import Route, gate_profile, route_for
from .textsafe import printable

if TYPE_CHECKING:
    from .batch_gate import LimitResult

JSON_VERSION = 1
DEFAULT_PROFILE = "default"
# Profile -> the evaluators it scores with its own formulas (the rest run under the default profile).
PROFILE_EVALUATORS = {"futureagi": futureagi.EVALUATORS}
PROFILE_TITLES = {"futureagi": "FutureAGI ai-evaluation 1.1.0's formulas, pass/fail at 0.5 unless the route sets a threshold"}


def profile_covers(profile: str, name: str) -> bool:
    """Does `profile` score evaluator `name` with formulas of its own?"""
    return profile != DEFAULT_PROFILE and name in PROFILE_EVALUATORS.get(profile, ())


@dataclass
class TraceEvaluation:
    analysis: TraceAnalysis
    route: Route | None
    results: list[EvalResult]
    profile: str = DEFAULT_PROFILE  # the profile asked for this trace (flag, gate route, gate, config)

    @property
    def passed(self) -> bool:
        return all(result.passed is not False for result in self.results)

    def profile_of(self, evaluator: str) -> str:
        """The profile an evaluator's result ran under: the one asked for if it covers the evaluator, else default."""
        return self.profile if profile_covers(self.profile, evaluator) else DEFAULT_PROFILE

    def profiled(self) -> list[str]:
        """The evaluators (in result order) that ran under a profile other than the default."""
        return [result.evaluator for result in self.results if self.profile_of(result.evaluator) != DEFAULT_PROFILE]


def profile_note(evaluation: TraceEvaluation) -> str | None:
    """One line on the trace's profile when it is not the default (None when it is): which evaluators it scored."""
    if evaluation.profile == DEFAULT_PROFILE:
        return None
    covered = evaluation.profiled()
    if not covered:
        return (f"profile {evaluation.profile}: none of these evaluators has its formulas "
                f"(it covers {', '.join(PROFILE_EVALUATORS[evaluation.profile])}); all ran under the default profile")
    others = len(evaluation.results) - len(covered)
    rest = f"; the other {others} under the default profile" if others else ""
    return f"profile {evaluation.profile} ({PROFILE_TITLES[evaluation.profile]}): {', '.join(covered)}{rest}"


def evaluate_trace(
    analysis: TraceAnalysis,
    routes: list[Route] | None = None,
    names: list[str] | None = None,
    judge=None,
    *,
    profile: str | None = None,
    default_profile: str | None = None,
) -> TraceEvaluation:
    """A trace's evaluators: the given names, else its route's, else the reference-free set (plus the LLM-only
    evaluators when there is a judge). Every evaluator with an LLM mode gets the judge.

    The profile: `profile` when given (`eval --profile`), else the gate's (its route's `profile`, else the file's
    top-level one), else `default_profile` (the user's config), else "default". The evaluators it covers run with
    its formulas and take only its options: a route's threshold still applies, its argument-matching options and
    the judge do not (FutureAGI's formulas are deterministic)."""
    route = route_for(analysis.name, routes) if routes else None
    chosen = profile or gate_profile(routes, route) or default_profile or DEFAULT_PROFILE
    if chosen not in PROFILES:
        raise ValueError(f"unknown profile {chosen!r}; known: {', '.join(PROFILES)}")
    default = list(REFERENCE_FREE) + (list(JUDGED) if judge is not None else [])
    selected = names or (list(route.evaluators) if route is not None else default)
    trajectory = Trajectory.from_trace(analysis)
    results = []
    for name in selected:
        under = chosen if profile_covers(chosen, name) else DEFAULT_PROFILE
        options: dict[str, Any] = dict(route.options.get(name, {})) if route is not None and under == DEFAULT_PROFILE else {}
        if route is not None and name in route.thresholds:
            options["threshold"] = route.thresholds[name]
        if judge is not None and under == DEFAULT_PROFILE and takes_judge(name):
            options["judge"] = judge
        results.append(evaluate(name, trajectory, route.reference if route is not None else None, profile=under, **options))
    return TraceEvaluation(analysis, route, results, chosen)


def eval_document(
    evaluations: list[TraceEvaluation],
    errors: list[ReadError],
    limits: Sequence[LimitResult] = (),
    collect: Callable[[Iterator[dict[str, Any]]], object] = list,
) -> dict[str, Any]:
    """The `eval --json` document. `collect` makes the results' value from their generator: a list, or
    `textsafe.Streamed` for the CLI, which writes them a batch at a time (a result per trace and evaluator is
    tens of MB of dicts for a 100k-span file)."""
    results = (
        {"trace_id": e.analysis.trace_id, "trace": e.analysis.name, "route": e.route.match if e.route else None,
         "profile": e.profile_of(r.evaluator), **r.to_json()}
        for e in evaluations
        for r in e.results
    )
    return {
        "version": JSON_VERSION,
        "results": collect(results),
        "route_limits": [limit.to_json() for limit in limits],
        "errors": [{"source": error.source, "message": error.message} for error in errors],
    }


def write_junit(out: TextIO, evaluations: list[TraceEvaluation], limits: Sequence[LimitResult] = ()) -> None:
    """JUnit XML: one testcase per trace x evaluator, then one per route limit; `warn` and `fail` are failures,
    `n/a` is skipped. Written a testcase at a time (a 100k-span file's report as one element tree was 40 MB)."""
    out.write("<?xml version='1.0' encoding='utf-8'?>\n<testsuites>")
    _write_suite(
        out,
        "orchtui eval",
        [result.passed for evaluation in evaluations for result in evaluation.results],
        (_result_case(evaluation, result) for evaluation in evaluations for result in evaluation.results),
    )
    if limits:
        _write_suite(out, "orchtui route limits", [limit.passed for limit in limits], (_limit_case(limit) for limit in limits))
    out.write("</testsuites>")


def _write_suite(out: TextIO, name: str, verdicts: list[bool | None], cases: Iterator[ElementTree.Element]) -> None:
    """A testsuite element (`verdicts`: each case's passed, for its counts), its testcases serialized one by one,
    as ElementTree writes a whole tree: the start tag is an empty element's, opened."""
    attributes = {
        "name": name,
        "tests": str(len(verdicts)),
        "failures": str(sum(1 for passed in verdicts if passed is False)),
        "skipped": str(sum(1 for passed in verdicts if passed is None)),
    }
    empty = ElementTree.tostring(ElementTree.Element("testsuite", attributes), encoding="unicode")
    first = next(cases, None)
    if first is None:
        out.write(empty)
        return
    out.write(empty.removesuffix(" />") + ">")
    out.write(ElementTree.tostring(first, encoding="unicode"))
    out.writelines(ElementTree.tostring(case, encoding="unicode") for case in cases)
    out.write("</testsuite>")


def _result_case(evaluation: TraceEvaluation, result: EvalResult) -> ElementTree.Element:
    case = ElementTree.Element(
        "testcase", classname=_xml_text(evaluation.analysis.name), name=_xml_text(f"{result.evaluator} [{evaluation.analysis.trace_id[:16]}]")
    )
    if result.passed is False:
        score = "n/a" if result.score is None else f"{result.score:.4f}"
        failure = ElementTree.SubElement(case, "failure", message=_xml_text(f"{result.label}: score {score} < {result.threshold}"))
        failure.text = _xml_text(result.explanation)
    elif result.passed is None:
        ElementTree.SubElement(case, "skipped", message=_xml_text(result.explanation.splitlines()[0]))
    return case


def _limit_case(limit: LimitResult) -> ElementTree.Element:
    case = ElementTree.Element("testcase", classname=_xml_text(f"route {limit.route.match}"), name=_xml_text(limit.limit))
    if limit.passed is False:
        ElementTree.SubElement(case, "failure", message=_xml_text(limit.explanation))
    elif limit.passed is None:
        ElementTree.SubElement(case, "skipped", message=_xml_text(limit.explanation))
    return case


def _xml_text(text: str) -> str:
    """Every string of the report passes here. XML 1.0 cannot hold most control characters, lone surrogates,
    U+FFFE or U+FFFF (a parser rejects the whole file): `printable` shows all of them escaped, as everywhere else."""
    return printable(text)

