"""`orchtui check`: the JSON contract, exit statuses, bad records, and safe printing of hostile text."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout

import orjson
import pytest

from orchtui.cli import main
from tests.conftest import DATA

LANGGRAPH = str(DATA / "langgraph/langgraph-openinference.otlp.jsonl")
CLEAN = str(DATA / "otlp/otel-demo-collector-file-exporter.jsonl")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    raw = io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with redirect_stdout(wrapper), redirect_stderr(err):
        code = main(list(argv))
        wrapper.flush()
    out.write(raw.getvalue().decode())
    return code, out.getvalue(), err.getvalue()


def otlp_line(name: str, trace: str = "ab" * 16, span_id: str = "cd" * 8, **extra) -> bytes:
    span = {"traceId": trace, "spanId": span_id, "name": name, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000", **extra}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def test_json_document_matches_the_contract():
    code, out, _ = run("check", "--json", LANGGRAPH)
    document = json.loads(out)
    assert document["version"] == 1 and document["errors"] == []
    assert [t["name"] for t in document["traces"]] == ["vendor_exception", "policy_loop", "flaky_tool", "long_answer"]
    keys = {"trace_id", "name", "service", "start", "duration_ms", "spans", "llm_calls", "tool_calls", "status",
            "tokens", "cost_usd", "stop_reason", "retries", "route", "findings"}
    for trace in document["traces"]:
        assert set(trace) == keys
        assert set(trace["tokens"]) == {"prompt", "completion", "total"}
        assert trace["start"].endswith("Z") and trace["start"].startswith("2026-")
        for finding in trace["findings"]:
            assert set(finding) == {"code", "severity", "message", "span_id"}
            assert finding["severity"] in ("info", "warn", "critical")
    loop = document["traces"][1]
    assert loop["status"] == "error" and loop["tool_calls"] == 4 and loop["llm_calls"] == 5
    assert loop["tokens"] == {"prompt": 900, "completion": 60, "total": 960}
    assert isinstance(loop["cost_usd"], float)
    assert code == 1  # critical findings with the default --fail-on critical


def test_exit_statuses_follow_fail_on(tmp_path):
    assert run("check", "--json", CLEAN)[0] == 0
    warn_only = tmp_path / "warn.jsonl"
    # an orphan span: a warn finding, nothing critical
    warn_only.write_bytes(otlp_line("orphan", parentSpanId="ee" * 8) + b"\n")
    assert run("check", "--json", str(warn_only))[0] == 0
    assert run("check", "--json", "--fail-on", "warn", str(warn_only))[0] == 1
    # the collector file holds one trace whose root was never exported: a warn finding only
    assert run("check", "--json", "--fail-on", "critical", CLEAN)[0] == 0
    assert run("check", "--json", "--fail-on", "info", CLEAN)[0] == 1


def test_bad_usage_and_unreadable_input_exit_2(tmp_path):
    with pytest.raises(SystemExit) as usage:
        run("check", "--fail-on", "fatal", CLEAN)
    assert usage.value.code == 2
    code, _, err = run("check", "--json", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "no such file" in err
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 definitely not traces")
    code, out, err = run("check", "--json", str(garbage))
    assert code == 2 and "unrecognised format" in json.loads(out)["errors"][0]["message"]


def test_bad_records_are_listed_with_file_and_line_and_the_rest_is_read(tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        otlp_line("first", trace="01" * 16),
        b"this is not json",
        orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "ab" * 8, "name": "no trace id"}]}]}]}),
        orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": "wrong type"}]}]}),
        otlp_line("second", trace="02" * 16),
        otlp_line("cut off", trace="03" * 16)[:40],
    ]
    path.write_bytes(b"\n".join(lines))  # no final newline: the last line is being written
    code, out, _ = run("check", "--json", str(path))
    document = json.loads(out)
    assert [t["name"] for t in document["traces"]] == ["first", "second"]
    errors = {e["source"]: e["message"] for e in document["errors"]}
    assert set(errors) == {f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:6"}
    assert "not valid JSON" in errors[f"{path}:2"]
    assert "incomplete last line" in errors[f"{path}:6"]
    assert code == 0


def test_gzip_directories_and_globs(tmp_path):
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "a.json.gz").write_bytes(gzip.compress(open(LANGGRAPH, "rb").read()))
    shutil.copy(DATA / "openai-agents/agents-openinference.otlp.jsonl", tmp_path / "b.data")
    code, out, _ = run("check", "--json", str(tmp_path))
    names = sorted(t["name"] for t in json.loads(out)["traces"])
    assert names == sorted(["vendor_exception", "policy_loop", "flaky_tool", "long_answer", "triage_handoff", "guardrail_trip", "max_turns"])
    _, out, _ = run("check", "--json", str(tmp_path / "*.data"))
    assert len(json.loads(out)["traces"]) == 3


def test_table_output_lists_traces_and_findings():
    code, out, _ = run("check", LANGGRAPH)
    assert "vendor_exception" in out and "policy_loop" in out
    assert "loop.repeated_call" in out and "stop_reason.truncated" in out
    assert "LOOP" in out and "$0.00157" in out
    assert code == 1


def test_a_file_of_many_traces_lists_those_with_findings_and_all_lists_every_one(monkeypatch):
    """Over LIST_EVERY_TRACE_UP_TO traces the clean ones are counted under the table, not drawn (a 100k-span file's
    5,000 rows were a third of the command's time); `--all` lists them, the JSON always has every trace."""
    from orchtui import report

    monkeypatch.setattr(report, "LIST_EVERY_TRACE_UP_TO", 3)  # the fixture's 4 traces: one of them is clean
    code, out, _ = run("check", LANGGRAPH)
    assert code == 1 and "vendor_exception" not in out
    assert all(name in out for name in ("policy_loop", "flaky_tool", "long_answer"))
    assert "and 1 more trace without findings (--all lists them)" in out
    summary = [" ".join(line.replace("│", " ").split()) for line in out.split("findings in 3 of 4 traces")[1].splitlines()]
    assert summary.index("critical loop.runtime_limit 1") < summary.index("warn loop.repeated_call 1")
    code, out, _ = run("check", "--all", LANGGRAPH)
    assert "vendor_exception" in out and "more trace" not in out and "findings in" not in out
    monkeypatch.setattr(report, "LIST_EVERY_TRACE_UP_TO", 4)
    assert "vendor_exception" in run("check", LANGGRAPH)[1]
    monkeypatch.setattr(report, "LIST_EVERY_TRACE_UP_TO", 0)
    assert len(json.loads(run("check", "--json", LANGGRAPH)[1])["traces"]) == 4


def test_a_file_of_many_clean_traces_says_so_in_one_line(tmp_path, monkeypatch):
    from orchtui import report

    monkeypatch.setattr(report, "LIST_EVERY_TRACE_UP_TO", 1)
    path = tmp_path / "clean.jsonl"
    path.write_bytes(otlp_line("first", trace="ab" * 16) + b"\n" + otlp_line("second", trace="cd" * 16) + b"\n")
    code, out, _ = run("check", str(path))
    assert code == 0 and "first" not in out and "second" not in out
    assert "2 traces, none with findings (--all lists them)" in out and str(path.name) in out


def test_hostile_span_names_print_literally(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(otlp_line("[bold red]x[/] \x1b[2J\x1b]0;pwned\x07", status={"code": 2, "message": "[link=evil]y"}) + b"\n")
    code, out, _ = run("check", str(path))
    assert "[bold red]x[/]" in out
    assert "\x1b[2J" not in out and "\\x1b[2J" in out
    assert "\x07" not in out
    _, out_json, _ = run("check", "--json", str(path))
    assert json.loads(out_json)["traces"][0]["name"] == "[bold red]x[/] \x1b[2J\x1b]0;pwned\x07"


def test_the_config_file_sets_fail_on_and_the_flag_wins(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\nfail_on = "warn"\n')
    monkeypatch.setenv("ORCHTUI_CONFIG", str(config))
    orphan = tmp_path / "orphan.jsonl"  # a span whose parent never arrived: a warn finding only
    orphan.write_bytes(otlp_line("step", parentSpanId="ef" * 8) + b"\n")
    assert run("check", str(orphan))[0] == 1  # the config's warn threshold
    assert run("check", str(orphan), "--fail-on", "critical")[0] == 0  # the flag wins
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "none.toml"))
    assert run("check", str(orphan))[0] == 0  # no config: critical
