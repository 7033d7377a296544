"""`orchtui serve` as a process (the remote-triage server), and `orchtui tail` usage errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from parsers import read_path
from tests.conftest import DATA, ROOT
from tests.orchtui.test_cli_check import run


def test_serve_spools_what_it_accepts_and_stops_cleanly(tmp_path):
    base = tmp_path / "remote" / "spool"
    process = subprocess.Popen(
        [sys.executable, "-m", "orchtui", "serve", "--otlp", "127.0.0.1:0", "--save", str(base), "--token", "t0ken"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1/traces", first)
        assert match, first
        url = match.group(0)
        body = (DATA / "langgraph/langgraph-traceai.otlp.pb").read_bytes()
        headers = {"Content-Type": "application/x-protobuf", "Authorization": "Bearer t0ken"}
        # Generous bounds, not timings: on a loaded 2-core CI machine the first request also pays the server's
        # lazy imports, past httpx's 5 s default.
        assert httpx.post(url, content=body, headers=headers, timeout=60).status_code == 200
        assert httpx.post(url, content=body, headers={"Content-Type": "application/x-protobuf"}, timeout=60).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    spooled = read_path(base.with_name("spool.otlp.pb"))
    assert len(spooled.spans) == 78 and spooled.errors == []


def test_serve_warns_when_exposed_without_a_token(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "orchtui", "serve", "--otlp", "0.0.0.0:0", "--save", str(tmp_path / "s")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process.stdout.readline()
        time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert "without a token" in err


def test_tail_needs_something_to_follow():
    result = subprocess.run([sys.executable, "-m", "orchtui", "tail"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "give files to follow" in result.stderr


def orchtui_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("orchtui")}


def test_serve_on_a_busy_port_exits_2_saying_so_and_leaves_nothing_running(tmp_path):
    before = orchtui_threads()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run("serve", "--otlp", f"127.0.0.1:{port}", "--save", str(tmp_path / "s"))
    assert code == 2 and out == ""
    assert err.startswith(f"orchtui serve: cannot listen for OTLP/HTTP on 127.0.0.1:{port}: ") and err.count("\n") == 1
    assert orchtui_threads() <= before  # the source's thread, the ingest's and the spool's are gone


def test_serve_whose_spool_cannot_be_made_exits_2_saying_why(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    code, out, err = run("serve", "--otlp", "127.0.0.1:0", "--save", str(tmp_path / "file" / "s"))
    assert code == 2 and out == ""
    assert err.startswith("orchtui serve: cannot start: FileExistsError: ") and "Traceback" not in err  # not exit 3
