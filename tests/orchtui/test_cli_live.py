"""`orchtui serve` as a process (the remote-triage server), and `orchtui tail` usage errors."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx

from parsers import read_path
from tests.conftest import DATA, ROOT


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
