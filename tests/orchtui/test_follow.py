"""Following files: every file event a real log pipeline produces, and nothing parsed twice or lost."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import orjson
import pytest

from orchtui.sources.follow import TRUNCATIONS, FileFollower
from tests.conftest import DATA


def line(name: str, trace: str = "ab" * 16) -> bytes:
    span = {"traceId": trace, "spanId": os.urandom(8).hex(), "name": name, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


class Collector:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.errors: list = []
        self.skipped: dict[str, int] = {}
        self.changed = threading.Event()

    def deliver(self, spans) -> None:
        self.names.extend(span.name for span in spans)
        self.changed.set()

    def report(self, errors, skipped) -> None:
        self.errors.extend(errors)
        for what, count in skipped.items():
            self.skipped[what] = self.skipped.get(what, 0) + count
        self.changed.set()

    def wait_for(self, expected: list[str], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.names != expected and time.monotonic() < deadline:
            self.changed.wait(0.05)
            self.changed.clear()
        assert self.names == expected

    def wait_until(self, condition, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            self.changed.wait(0.05)
            self.changed.clear()
        assert condition()


@pytest.fixture
def follow(tmp_path):
    followers = []

    def start(targets, **options) -> Collector:
        collector = Collector()
        follower = FileFollower([str(t) for t in targets], collector.deliver, collector.report, **options)
        follower.start()
        followers.append(follower)
        collector.follower = follower
        return collector

    yield start
    for follower in followers:
        follower.stop()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_existing_lines_then_appends(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("old") + b"\n")
    spans = follow([path])
    spans.wait_for(["old"])
    append(path, line("new1") + b"\n" + line("new2") + b"\n")
    spans.wait_for(["old", "new1", "new2"])


def test_from_end_skips_history(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("old") + b"\n")
    spans = follow([path], from_end=True)
    append(path, line("new") + b"\n")
    spans.wait_for(["new"])


def test_a_partial_line_waits_for_its_end_and_is_parsed_once(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"")
    spans = follow([path])
    whole = line("split")
    append(path, whole[:25])
    time.sleep(0.3)
    assert spans.names == [] and spans.errors == []
    append(path, whole[25:] + b"\n")
    spans.wait_for(["split"])
    time.sleep(0.2)
    assert spans.names == ["split"]


def test_truncation_restarts_from_the_beginning(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("before-a") + b"\n" + line("before-b") + b"\n")
    spans = follow([path])
    spans.wait_for(["before-a", "before-b"])
    with open(path, "r+b") as handle:  # copytruncate
        handle.truncate(0)
    append(path, line("after") + b"\n")
    spans.wait_for(["before-a", "before-b", "after"])
    assert spans.errors == [] and spans.skipped == {TRUNCATIONS: 1}  # counted, not a read error


def test_rotation_finishes_the_old_file_then_follows_the_new_one(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("one") + b"\n")
    spans = follow([path])
    spans.wait_for(["one"])
    append(path, line("two") + b"\n")
    path.rename(tmp_path / "spans.jsonl.1")
    path.write_bytes(line("three") + b"\n")
    spans.wait_for(["one", "two", "three"])


def test_a_file_created_later_and_new_files_in_a_directory(tmp_path, follow):
    later = tmp_path / "later.jsonl"
    directory = tmp_path / "dir"
    directory.mkdir()
    spans = follow([later, directory])
    time.sleep(0.2)
    later.write_bytes(line("late") + b"\n")
    spans.wait_for(["late"])
    (directory / "agent-2.jsonl").write_bytes(line("new file") + b"\n")
    spans.wait_for(["late", "new file"])


def test_bad_lines_are_reported_with_their_real_line_numbers(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("a") + b"\n")
    spans = follow([path])
    spans.wait_for(["a"])
    append(path, b"garbage\n" + line("b") + b"\n")
    spans.wait_for(["a", "b"])
    assert [error.source for error in spans.errors] == [f"{path}:2"]


def test_a_burst_of_thousands_of_lines(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"")
    spans = follow([path])
    burst = b"".join(line(f"s{i}", trace=f"{i % 50 + 1:032x}") + b"\n" for i in range(5000))
    append(path, burst)
    spans.wait_for([f"s{i}" for i in range(5000)], timeout=15)


def test_a_protobuf_spool_is_followed_frame_by_frame(tmp_path, follow):
    from orchtui.sources.otlp_http import Spool

    spool = Spool(tmp_path / "spool")
    body = (DATA / "langgraph/langgraph-openinference.otlp.pb").read_bytes()
    spool.write_proto(body)
    spans = Collector()
    follower = FileFollower([str(spool.proto_path)], spans.deliver, spans.report)
    follower.start()
    try:
        deadline = time.monotonic() + 5
        while len(spans.names) < 78 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(spans.names) == 78
        frame = len(body).to_bytes(4, "big") + body
        with open(spool.proto_path, "ab") as out:  # a second request, written in two pieces
            out.write(frame[:1000])
            out.flush()
            time.sleep(0.2)
            assert len(spans.names) == 78
            out.write(frame[1000:])
        deadline = time.monotonic() + 5
        while len(spans.names) < 156 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(spans.names) == 156 and spans.errors == []
    finally:
        follower.stop()
        spool.close()
