"""`profile` outside the Python API: `orchtui eval --profile`, a gate file's `profile` (top level and per route), the
config file's `[defaults] profile` and ORCHTUI_PROFILE, and what the reports say about it."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

from orchtui.cli import main
from orchtui.config import load_config
from orchtui.evals import Trajectory, TrajectoryScore, evaluate
from orchtui.evals import futureagi
from orchtui.gate import GateError, load_gate, parse_gate
from tests.conftest import DATA
from tests.orchtui.test_cli_check import run

LANGGRAPH = str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")
FUTUREAGI = set(futureagi.EVALUATORS)
# docs/futureagi-profile.md: FutureAGI's TrajectoryScore on the LangGraph fixture's four runs
FUTUREAGI_TRAJECTORY = {"vendor_exception": 0.88, "policy_loop": 0.626, "flaky_tool": 0.29, "long_answer": 0.8}


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """The user's own config file and ORCHTUI_PROFILE must not decide these tests."""
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("ORCHTUI_PROFILE", raising=False)


def results(*argv: str) -> tuple[int, dict[tuple[str, str], dict]]:
    code, out, err = run("eval", LANGGRAPH, "--json", *argv)
    assert out, err
    return code, {(r["trace"], r["evaluator"]): r for r in json.loads(out)["results"]}


def write(tmp_path, text: str, name: str = "gate.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def usage_error(*argv: str) -> tuple[int, str]:
    """Exit status and stderr of a command argparse refuses (it raises SystemExit)."""
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err), pytest.raises(SystemExit) as exited:
        main(list(argv))
    return exited.value.code, err.getvalue()


# -- eval --profile -------------------------------------------------------------------------------------------------

def test_eval_profile_futureagi_gives_the_apis_futureagi_numbers():
    code, by_key = results("--profile", "futureagi")
    runs = {run.name: run for run in Trajectory.from_file(LANGGRAPH)}
    assert set(runs) == set(FUTUREAGI_TRAJECTORY)
    for (trace, evaluator), result in by_key.items():
        if evaluator in FUTUREAGI:
            direct = evaluate(evaluator, runs[trace], profile="futureagi")
            assert result["profile"] == "futureagi" and result["threshold"] == 0.5
        else:
            direct = evaluate(evaluator, runs[trace])
            assert result["profile"] == "default"
        assert (result["score"], result["label"], result["explanation"]) == (direct.to_json()["score"], direct.label, direct.explanation)
    assert {trace: by_key[(trace, "TrajectoryScore")]["score"] for trace in runs} == FUTUREAGI_TRAJECTORY
    assert {trace: TrajectoryScore(profile="futureagi").evaluate(run).score for trace, run in runs.items()} == FUTUREAGI_TRAJECTORY
    # FutureAGI passes the recursion-limited run's composite (0.626 >= 0.5); the default profile fails it
    assert by_key[("policy_loop", "TrajectoryScore")]["label"] == "pass"
    assert by_key[("flaky_tool", "ToolSelectionAccuracy")]["score"] == 0.0  # FutureAGI: its one call failed
    assert code == 1  # LoopDetection and StopReason (default profile) still fail policy_loop


def test_eval_default_profile_is_unchanged_and_says_so():
    _, default = results()
    _, explicit = results("--profile", "default")
    assert default == explicit
    assert {r["profile"] for r in default.values()} == {"default"}
    assert default[("policy_loop", "TrajectoryScore")]["label"] == "fail" and default[("policy_loop", "TrajectoryScore")]["score"] < 0.49


def test_the_table_marks_the_futureagi_columns_and_notes_the_profile():
    code, out, _ = run("eval", LANGGRAPH, "--profile", "futureagi")
    head = next(line for line in out.splitlines() if "trace" in line and "Loops" in line)
    assert "Task*" in head and "Efficiency*" in head and "TrajScore*" in head and "ToolSelect*" in head
    assert "Loops*" not in head and "StopReason*" not in head and "Faithful*" not in head
    note = " ".join(out.split("\n* profile futureagi", 1)[1].split("\n")[:2]).replace("  ", " ")  # wrapped at 140
    assert "FutureAGI ai-evaluation 1.1.0's formulas" in note and "Task, Efficiency, TrajScore, ToolSelect" in note
    assert "every other result: the default profile" in note
    assert "flaky_tool · ToolSelectionAccuracy (profile futureagi): fail" in out
    assert "policy_loop · LoopDetection: fail" in out  # a default-profile evaluator is not marked
    plain = run("eval", LANGGRAPH)[1]
    assert "*" not in plain.split("\n", 3)[2] and "profile" not in plain


def test_a_profile_covering_none_of_the_evaluators_run_says_so():
    code, out, _ = run("eval", LANGGRAPH, "--profile", "futureagi", "--evaluator", "LoopDetection")
    assert "Loops*" not in out
    assert "profile futureagi: none of the evaluators run has its formulas" in " ".join(out.split())
    _, by_key = results("--profile", "futureagi", "--evaluator", "LoopDetection")
    assert {r["profile"] for r in by_key.values()} == {"default"}


def test_a_bad_profile_flag_exits_2_naming_the_choices():
    code, err = usage_error("eval", LANGGRAPH, "--profile", "fagi")
    assert code == 2 and "invalid choice: 'fagi'" in err and "'default', 'futureagi'" in err


def test_completion_offers_the_profiles():
    assert "--profile) COMPREPLY=($(compgen -W 'default futureagi'" in run("completion", "bash")[1]
    assert "'--profile[futureagi\\: score TaskCompletion" in run("completion", "zsh")[1]
    assert "-n '__fish_seen_subcommand_from eval' -l profile -x -a 'default futureagi'" in run("completion", "fish")[1]


def test_junit_and_exit_status_follow_the_profiles_verdicts(tmp_path):
    junit = tmp_path / "report.xml"
    only = ["--evaluator", "TrajectoryScore"]
    assert run("eval", LANGGRAPH, *only, "--trace", "policy_loop")[0] == 1
    assert run("eval", LANGGRAPH, *only, "--trace", "policy_loop", "--profile", "futureagi", "--junit", str(junit))[0] == 0
    assert 'failures="0"' in junit.read_text()


# -- gate files -----------------------------------------------------------------------------------------------------

GATE = """
profile = "futureagi"

[[route]]
match = "vendor_*"
profile = "default"
evaluators = ["TaskCompletion", "TrajectoryScore", "LoopDetection"]

[[route]]
match = "policy_*"
evaluators = ["TaskCompletion", "TrajectoryScore", "LoopDetection"]
[route.thresholds]
TrajectoryScore = 0.7
"""


def test_gate_profile_top_level_and_per_route_the_route_wins(tmp_path):
    gate = write(tmp_path, GATE)
    routes = load_gate(gate)
    assert routes.profile == "futureagi" and [route.profile for route in routes] == ["default", "futureagi"]
    _, by_key = results("--spec", gate)
    # vendor_exception: its route says default
    assert by_key[("vendor_exception", "TaskCompletion")]["profile"] == "default"
    assert by_key[("vendor_exception", "TaskCompletion")]["score"] == 1.0
    # policy_loop: its route says nothing, the file's top level says futureagi; the route's threshold still holds
    assert by_key[("policy_loop", "TrajectoryScore")]["profile"] == "futureagi"
    assert by_key[("policy_loop", "TrajectoryScore")]["score"] == 0.626
    assert by_key[("policy_loop", "TrajectoryScore")]["threshold"] == 0.7 and by_key[("policy_loop", "TrajectoryScore")]["label"] == "fail"
    assert by_key[("policy_loop", "LoopDetection")]["profile"] == "default"
    # flaky_tool and long_answer match no route: the reference-free set, under the top-level profile
    assert by_key[("flaky_tool", "TrajectoryScore")]["profile"] == "futureagi" and by_key[("flaky_tool", "TrajectoryScore")]["score"] == 0.29
    assert by_key[("long_answer", "StopReason")]["profile"] == "default"


def test_the_profile_flag_wins_over_the_gate(tmp_path):
    gate = write(tmp_path, GATE)
    _, forced_default = results("--spec", gate, "--profile", "default")
    assert {r["profile"] for r in forced_default.values()} == {"default"}
    _, forced = results("--spec", gate, "--profile", "futureagi")
    assert forced[("vendor_exception", "TaskCompletion")]["profile"] == "futureagi"
    assert forced[("vendor_exception", "TaskCompletion")]["score"] == 0.7


def test_mixed_profiles_in_one_report_say_on_which_traces(tmp_path):
    gate = write(tmp_path, '[[route]]\nmatch = "policy_*"\nprofile = "futureagi"\nevaluators = ["TrajectoryScore"]\n'
                           '[[route]]\nmatch = "*"\nevaluators = ["TrajectoryScore"]\n')
    _, out, _ = run("eval", LANGGRAPH, "--spec", gate)
    note = " ".join(out.split())
    assert "* profile futureagi" in note and "TrajScore on 1 of 4 traces (route policy_*)" in note


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('profile = "fagi"\n[[route]]\nmatch = "x"\n', ": top-level: bad profile 'fagi'; expected one of default, futureagi"),
        ('[[route]]\nmatch = "x"\n[[route]]\nmatch = "y"\nprofile = "FutureAGI"\n', ": route 2 (y): bad profile 'FutureAGI'; expected one of default, futureagi"),
        ('[[route]]\nmatch = "x"\nprofile = 1\n', ": route 1 (x): bad profile 1; expected one of default, futureagi"),
        ('profiles = "futureagi"\n[[route]]\nmatch = "x"\n', ": unknown top-level key(s) profiles (allowed: [[route]] tables and `profile`)"),
    ],
)
def test_a_bad_gate_profile_is_refused_with_file_and_route_and_exit_2(tmp_path, text, message):
    gate = write(tmp_path, text)
    with pytest.raises(GateError) as refused:
        load_gate(gate)
    assert str(refused.value) == f"{gate}{message}"
    for command in ("eval", "routes"):
        code, out, err = run(command, LANGGRAPH, "--spec", gate)
        assert code == 2 and out == "" and f"orchtui {command}: {gate}{message}" in err


def test_a_bad_gate_profile_stops_open_before_the_ui_with_exit_2(tmp_path):
    gate = write(tmp_path, '[[route]]\nmatch = "x"\nprofile = "fagi"\n')
    code, _, err = run("open", LANGGRAPH, "--spec", gate)
    assert code == 2 and f"orchtui open: {gate}: route 1 (x): bad profile 'fagi'" in err and "internal error" not in err


def test_a_saved_golden_route_keeps_the_files_profile(tmp_path):
    from orchtui.gate import append_golden_route

    gate = tmp_path / "golden.toml"
    gate.write_text('profile = "futureagi"\n')
    append_golden_route(gate, "policy_loop", [("lookup_policy", "refund policy")])
    (route,) = routes = load_gate(gate)
    assert routes.profile == route.profile == "futureagi"
    assert parse_gate('[[route]]\nmatch = "x"\n', "g.toml").profile is None


# -- the user's config and environment --------------------------------------------------------------------------------

def config_file(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("ORCHTUI_CONFIG", str(path))


def test_config_file_and_environment_set_the_profile(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[defaults]\nprofile = "futureagi"\n')
    config = load_config({"ORCHTUI_CONFIG": str(path)})
    assert config.profile == "futureagi" and config.problems == []
    assert load_config({"ORCHTUI_CONFIG": str(path), "ORCHTUI_PROFILE": "default"}).profile == "default"
    assert load_config({"ORCHTUI_CONFIG": str(tmp_path / "none.toml"), "ORCHTUI_PROFILE": "futureagi"}).profile == "futureagi"
    assert load_config({"ORCHTUI_CONFIG": str(tmp_path / "none.toml")}).profile is None


def test_a_bad_config_profile_is_reported_and_skipped(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[defaults]\nprofile = "fagi"\n')
    config = load_config({"ORCHTUI_CONFIG": str(path)})
    assert config.profile is None and config.problems == [f"{path}: defaults.profile must be one of default, futureagi"]
    config = load_config({"ORCHTUI_CONFIG": str(path), "ORCHTUI_PROFILE": "nope"})
    assert config.profile is None and config.problems[-1] == "environment: ORCHTUI_PROFILE must be one of default, futureagi"
    path.write_text('[defaults]\nprofile = "futureagi"\n')
    config = load_config({"ORCHTUI_CONFIG": str(path), "ORCHTUI_PROFILE": "nope"})
    assert config.profile == "futureagi"  # the bad environment value is skipped, the file's kept


def test_eval_reads_the_config_profile_under_the_gate_and_the_flag(tmp_path, monkeypatch):
    config_file(tmp_path, monkeypatch, '[defaults]\nprofile = "futureagi"\n')
    _, by_key = results("--evaluator", "TrajectoryScore")
    assert {r["profile"] for r in by_key.values()} == {"futureagi"}
    assert by_key[("policy_loop", "TrajectoryScore")]["score"] == 0.626
    _, flagged = results("--evaluator", "TrajectoryScore", "--profile", "default")
    assert {r["profile"] for r in flagged.values()} == {"default"}
    gate = write(tmp_path, '[[route]]\nmatch = "vendor_*"\nprofile = "default"\nevaluators = ["TrajectoryScore"]\n')
    _, gated = results("--spec", gate, "--evaluator", "TrajectoryScore")
    assert gated[("vendor_exception", "TrajectoryScore")]["profile"] == "default"  # the gate's route wins over the config
    assert gated[("policy_loop", "TrajectoryScore")]["profile"] == "futureagi"  # no route: the config's
    monkeypatch.setenv("ORCHTUI_PROFILE", "default")
    _, environment = results("--evaluator", "TrajectoryScore")
    assert {r["profile"] for r in environment.values()} == {"default"}  # the environment wins over the file


def test_a_bad_environment_profile_is_said_on_stderr_and_default_used(monkeypatch):
    monkeypatch.setenv("ORCHTUI_PROFILE", "fagi")
    code, out, err = run("eval", LANGGRAPH, "--json", "--evaluator", "TrajectoryScore")
    assert "orchtui: config: environment: ORCHTUI_PROFILE must be one of default, futureagi" in err
    assert {r["profile"] for r in json.loads(out)["results"]} == {"default"}


def test_routes_with_a_gate_evaluates_under_its_profile(tmp_path):
    text = '[[route]]\nmatch = "policy_*"\nevaluators = ["TrajectoryScore"]\n[route.limits]\nmin_pass_rate = 1.0\n'
    default = json.loads(run("routes", LANGGRAPH, "--json", "--spec", write(tmp_path, text, "a.toml"))[1])
    futureagi_gate = json.loads(run("routes", LANGGRAPH, "--json", "--spec", write(tmp_path, 'profile = "futureagi"\n' + text, "b.toml"))[1])
    assert [limit["value"] for limit in default["route_limits"]] == [0.0]  # the default composite fails the loop
    assert [limit["value"] for limit in futureagi_gate["route_limits"]] == [1.0]  # FutureAGI's 0.626 passes at 0.5


def test_the_readmes_example_is_this_output():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, out, _ = run("eval", LANGGRAPH, "--profile", "futureagi")
    table = [line.rstrip() for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert len(table) == 8
    shown = [line for line in out.splitlines() if line.startswith(("* profile", "TrajScore, ToolSelect", "policy_loop · TaskCompletion"))]
    assert len(shown) == 3
    for line in table + shown:
        assert line.rstrip() + "\n" in readme, line
