"""Issue 13: CLI tables at 80 and 120 columns, empty and bad inputs, diff headings, costs, completion, tail."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from textual.app import App

from orchtui.formatting import cost_decimals, format_cost
from orchtui.textsafe import printable
from tests.conftest import ROOT
from tests.orchtui.test_cli_check import run


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_and_keep_names_costs_flags_and_verdicts(demo, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    for command in ("check", "routes", "eval"):
        _, out, _ = run(command, demo)
        lines = out.splitlines()
        assert all(len(line) <= width for line in lines), command
        assert "…" not in out.split("Expensive branches")[0], command  # nothing cut with an ellipsis
        if command != "eval":
            assert "policy_research" in out and "summarize_contract" in out
    _, out, _ = run("check", demo)
    assert "ERR LOOP STOP" in out and "$0.034740" in out and "$0.000080" in out  # one precision per column
    _, out, _ = run("eval", demo)
    assert "fail" in out and "pass" in out and "policy_research" in out


def test_narrow_check_names_the_columns_it_left_out(demo, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert "not shown at 80 columns: spans, stop" in run("check", demo)[1]
    monkeypatch.setenv("COLUMNS", "120")
    assert "not shown" not in run("check", demo)[1]


@pytest.mark.parametrize(("name", "value"), [("COLUMNS", "²"), ("LINES", "٣٠"), ("COLUMNS", "\x1b[31m80")])
def test_a_terminal_size_that_is_not_a_number_is_ignored_not_an_internal_error(demo, monkeypatch, name, value):
    """Rich accepts what `str.isdigit` accepts and then fails in `int`: a mistyped COLUMNS had made every command,
    and the app, exit with status 3 and a traceback."""
    monkeypatch.setenv(name, value)
    code, out, err = run("check", demo)
    assert code == 1 and "policy_research" in out  # the demo's findings, as without the variable
    assert err == f"orchtui: {name}={printable(value, True)} is not a number; ignored\n"
    assert "\x1b" not in err
    assert name not in os.environ  # dropped before any command runs: `open`'s app builds its console after
    App()  # Textual's console reads them too


def test_cost_column_precision():
    places = cost_decimals([0.0347, 0.003815])
    assert (format_cost(0.0347, decimals=places), format_cost(0.003815, decimals=places)) == ("$0.03470", "$0.00381")
    assert format_cost(12.3) == "$12.30" and format_cost(250) == "$250"


def test_empty_and_bad_inputs_exit_2_with_one_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in ("check", "eval", "routes"):
        code, out, err = run(command, str(empty))
        assert code == 2 and "no files in" in err and out == ""
    code, out, err = run("check", str(tmp_path / "missing.jsonl"))
    assert code == 2 and (out + err).count("no such file or directory") == 1
    binary = tmp_path / "blob"
    binary.write_bytes(bytes(range(256)) * 4)
    code, out, err = run("eval", str(binary))
    assert code == 2 and "unrecognised format" in err and "trace" not in out
    assert run("open", str(empty))[0] == 2 and "no files in" in run("open", str(empty))[2]
    for value in ("-5", "0"):
        with pytest.raises(SystemExit) as exit_:
            run("open", str(empty), "--max-spans", value)
        assert exit_.value.code == 2


def test_diff_headings_and_a_trace_with_itself(demo):
    _, out, _ = run("check", demo, "--json")
    import json

    ids = [t["trace_id"] for t in json.loads(out)["traces"] if t["name"] == "refund_request"]
    _, out, _ = run("diff", ids[1], ids[2], demo)
    assert "(6 steps)" in out.splitlines()[0] and "(5 steps)" in out.splitlines()[1]
    code, out, err = run("diff", ids[1], ids[1], demo)
    assert code == 0 and "same trace" in err and "A and B are the same trace" in out


def test_diff_with_golden_route_shows_the_retriever_glyph(demo, tmp_path):
    gate = tmp_path / "gate.toml"
    gate.write_text('[[route]]\nmatch = "refund_*"\nexpected_tool_calls = [{ name = "lookup_order" }, '
                    '{ name = "retrieve_policy" }, { name = "issue_refund" }]\ntool_args_match_mode = "ignore"\n')
    _, out, _ = run("check", demo, "--json")
    import json

    skipped = [t["trace_id"] for t in json.loads(out)["traces"] if t["name"] == "refund_request"][2]
    _, out, _ = run("diff", "golden", skipped, demo, "--spec", str(gate))
    assert "⌕ retrieve_policy" in out and "▣ lookup_order" in out
    # B skipped the retrieval: the golden route names it only, its kind comes from the route's other runs.
    assert "1 skipped (⌕ retrieve_policy)" in out and "▣ retrieve_policy" not in out
    _, out, _ = run("diff", "golden", skipped, demo, "--spec", str(gate), "--json")
    document = json.loads(out)
    assert document["summary"] == "2 steps vs 3: 1 skipped (⌕ retrieve_policy)"
    assert [(row["op"], row["a"]["kind"]) for row in document["rows"] if row["a"]["name"] == "retrieve_policy"] == [("skipped", "retriever")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_name_every_command(shell):
    code, out, _ = run("completion", shell)
    assert code == 0
    for word in ("check", "routes", "fail-on", "critical", "completion"):
        assert word in out


def test_tail_on_a_busy_port_exits_2_before_the_ui():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "orchtui", "tail", "--otlp", f"127.0.0.1:{port}"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "cannot listen on 127.0.0.1" in result.stderr
