"""`orchtui eval`: gates, reports (table, JSON, JUnit) and exit codes on the real fixtures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from orchtui.gate import GateError, load_gate
from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

LANGGRAPH = str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")
MINE = ["--evaluator", "TaskCompletion", "--evaluator", "LoopDetection", "--evaluator", "StopReason"]

GATE = """
[[route]]
match = "vendor_*"
expected_tool_calls = [{ name = "lookup_policy" }, { name = "compliance_review" }]
trajectory_mode = "in_order"
tool_args_match_mode = "ignore"
max_steps = 3
evaluators = ["StepEfficiency", "TaskCompletion", "LoopDetection", "StopReason"]
[route.thresholds]
StepEfficiency = 0.9
"""


def test_reference_free_run_json_and_exit_status():
    code, out, _ = run("eval", LANGGRAPH, "--json", *MINE)
    document = json.loads(out)
    assert document["version"] == 1 and document["errors"] == []
    by_key = {(r["trace"], r["evaluator"]): r for r in document["results"]}
    assert len(by_key) == 4 * 3
    assert by_key[("vendor_exception", "TaskCompletion")]["label"] == "pass"
    assert by_key[("policy_loop", "LoopDetection")]["label"] == "fail"
    assert by_key[("long_answer", "StopReason")]["score"] == 0.0
    for result in document["results"]:
        assert set(result) == {"trace_id", "trace", "route", "profile", "evaluator", "score", "passed", "label", "threshold", "explanation", "findings", "components"}
        assert result["profile"] == "default"
    assert code == 1


def test_a_gate_holds_matching_traces_to_their_route(tmp_path):
    gate = tmp_path / "gate.toml"
    gate.write_text(GATE)
    code, out, _ = run("eval", LANGGRAPH, "--spec", str(gate), "--trace", "vendor_exception", "--json")
    results = json.loads(out)["results"]
    assert [r["evaluator"] for r in results] == ["StepEfficiency", "TaskCompletion", "LoopDetection", "StopReason"]
    assert all(r["route"] == "vendor_*" and r["passed"] for r in results)
    assert results[0]["threshold"] == 0.9 and "vs 2 expected" in results[0]["explanation"]
    assert code == 0


def test_junit_has_one_testcase_per_trace_and_evaluator(tmp_path):
    junit = tmp_path / "report.xml"
    code, out, _ = run("eval", LANGGRAPH, *MINE, "--junit", str(junit))
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 12 and int(suite.get("tests")) == 12
    failed = {(c.get("classname"), c.get("name").split(" ")[0]) for c in cases if c.find("failure") is not None}
    assert ("policy_loop", "LoopDetection") in failed and ("vendor_exception", "TaskCompletion") not in failed
    assert int(suite.get("failures")) == len(failed)
    assert "policy_loop" in out and code == 1


def test_many_traces_list_those_with_a_warn_or_fail_verdict_and_all_lists_every_one(monkeypatch):
    """Over LIST_EVERY_TRACE_UP_TO traces the grid lists the traces with a warn or fail verdict, counts the rest,
    and a table of verdict counts per evaluator covers the whole run."""
    from orchtui import eval_report

    monkeypatch.setattr(eval_report, "LIST_EVERY_TRACE_UP_TO", 3)
    only = ["--evaluator", "LoopDetection"]  # fails policy_loop alone
    code, out, _ = run("eval", LANGGRAPH, *only)
    assert code == 1 and "policy_loop" in out
    assert not any(name in out for name in ("flaky_tool", "long_answer", "vendor_exception"))
    assert "and 3 more traces with every verdict pass or n/a (--all lists them)" in out
    counts = [" ".join(line.replace("│", " ").split()) for line in out.split("verdicts over 4 traces")[1].splitlines()]
    assert "evaluator fail warn n/a pass" in " ".join(counts[2].replace("┃", " ").split()) and "Loops 1 0 0 3" in counts
    code, out, _ = run("eval", LANGGRAPH, *only, "--all")
    assert all(name in out for name in ("flaky_tool", "long_answer", "vendor_exception"))
    assert "more trace" not in out and "verdicts over" not in out
    code, out, _ = run("eval", LANGGRAPH, "--evaluator", "PromptInjection")
    assert code == 0 and out.startswith("orchtui eval: 4 traces, every verdict pass or n/a (--all lists them)")
    assert "Injection 0 0 0 4" in [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    code, out, _ = run("eval", LANGGRAPH, *only, "--json")
    assert len(json.loads(out)["results"]) == 4


def test_junit_written_case_by_case_reads_as_one_tree():
    """`write_junit` serializes a testcase at a time; the file must parse as the whole tree ElementTree would
    write, with an empty suite closed in place."""
    import io

    from orchtui.evaluation import evaluate_trace, write_junit
    from tests.framework_truth import analyse_file

    evaluations = [evaluate_trace(analysis, []) for analysis in analyse_file(Path(LANGGRAPH))]
    out = io.StringIO()
    write_junit(out, evaluations)
    root = ElementTree.fromstring(out.getvalue().split("\n", 1)[1])
    rewritten = ElementTree.tostring(root, encoding="unicode", xml_declaration=True)
    assert out.getvalue() == rewritten
    assert len(root.find("testsuite").findall("testcase")) == sum(len(e.results) for e in evaluations)
    out = io.StringIO()
    write_junit(out, [])
    assert out.getvalue() == "<?xml version='1.0' encoding='utf-8'?>\n<testsuites>" + (
        '<testsuite name="orchtui eval" tests="0" failures="0" skipped="0" /></testsuites>'
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[route]]\nmatch = "x"\nexpected_tools = []', "unknown key(s) expected_tools"),
        ('[[route]]\nmatch = "x"\ntrajectory_mode = "sideways"', "bad trajectory_mode 'sideways'"),
        ('[[route]]\nmatch = "x"\ntool_args_match_mode = "fuzzy"', "bad tool_args_match_mode 'fuzzy'"),
        ('[[route]]\nmatch = "refund_[abc"', "bad glob"),
        ('[[route]]\nmatch = "x"\nevaluators = ["Vibes"]', "unknown evaluator(s) Vibes"),
        ('[[route]]\nmatch = "x"\n[route.thresholds]\nStepEfficiency = 3', "thresholds must map"),
        ('[[route]]\nmatch = "x"\nexpected_tool_calls = [{ args = {} }]', "needs a `name`"),
        ("[[route]]\nevaluators = []", "`match` must be a glob"),
        ("title = 'x'", "unknown top-level key"),
        ("[[route", "not valid TOML"),
    ],
)
def test_bad_gate_files_are_refused_with_a_clear_message(tmp_path, text, message):
    gate = tmp_path / "gate.toml"
    gate.write_text(text)
    with pytest.raises(GateError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_gate(gate)
    code, _, err = run("eval", LANGGRAPH, "--spec", str(gate))
    assert code == 2 and str(gate) in err


def test_bad_usage_exits_2(tmp_path):
    assert run("eval", LANGGRAPH, "--evaluator", "Vibes")[0] == 2
    assert run("eval", LANGGRAPH, "--trace", "no-such-trace")[0] == 2
    assert run("eval", str(tmp_path / "missing.jsonl"))[0] == 2


def test_a_saved_golden_route_loads_and_passes_its_own_trace(tmp_path):
    from orchtui.gate import append_golden_route

    gate = tmp_path / "golden.toml"
    append_golden_route(gate, "vendor_exception", [("lookup_policy", "vendor exception"), ("compliance_review", {"amount": 25000})])
    (route,) = load_gate(gate)
    assert route.match == "vendor_exception" and route.reference.max_steps == 4
    code, out, _ = run("eval", LANGGRAPH, "--spec", str(gate), "--trace", "vendor_exception", "--json", "--evaluator", "StepEfficiency")
    assert code == 0 and json.loads(out)["results"][0]["passed"]
