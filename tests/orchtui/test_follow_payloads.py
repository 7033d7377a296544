"""Spans of a followed file leave their payloads in it (parsers/payloads.py), as spans of an opened file do: read
back identical, after appends split mid-line, and after the file was rotated away under another name."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from orchtui.demo import demo_requests
from orchtui.sources.follow import FileFollower
from parsers import payloads
from parsers.payloads import rotated_names
from parsers.read import read_path

START_NS = 1_764_000_000_000_000_000


class Spans:
    def __init__(self) -> None:
        self.spans: list = []
        self.errors: list = []
        self.lock = threading.Lock()

    def deliver(self, spans) -> None:
        with self.lock:
            self.spans.extend(spans)

    def report(self, errors, skipped) -> None:
        self.errors.extend(errors)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.spans) == count


@pytest.fixture(autouse=True)
def _fresh_cache():
    payloads.forget()
    yield
    payloads.forget()


def payload_of(span) -> tuple:
    return (span.attributes, span.events, span.input, span.output, span.input_messages, span.output_messages)


def test_followed_spans_read_back_identical_after_appends_and_a_rotation(tmp_path) -> None:
    lines = [orjson.dumps(request) + b"\n" for request in demo_requests(start_ns=START_NS)]
    everything = tmp_path / "all.json"
    everything.write_bytes(b"".join(lines))
    expected = {(span.trace_id, span.span_id): payload_of(span) for span in read_path(everything).spans}
    everything.unlink()

    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"".join(lines[:3]))
    collected = Spans()
    follower = FileFollower([str(path)], collected.deliver, collected.report)
    follower.start()
    try:
        first = sum(len(orjson.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in lines[:3])
        collected.wait_for(first)
        half = len(lines[3]) // 2
        with open(path, "ab") as out:  # one line in two writes: the follower carries its first half
            out.write(lines[3][:half])
            out.flush()
            time.sleep(0.2)
            out.write(lines[3][half:] + lines[4])
        before_rotation = first + sum(
            len(orjson.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in lines[3:5]
        )
        collected.wait_for(before_rotation)
        path.rename(tmp_path / "spans.jsonl.1")  # logrotate: the old lines now live under another name
        path.write_bytes(b"".join(lines[5:]))
        collected.wait_for(len(expected))
    finally:
        follower.stop()

    assert not collected.errors
    assert all(span.evict_payload() for span in collected.spans)
    assert {(span.trace_id, span.span_id): payload_of(span) for span in collected.spans} == expected
    assert payloads.stats.lost == 0


def test_rotated_names_are_siblings_sharing_the_stem(tmp_path) -> None:
    for name in ("spans.jsonl", "spans.jsonl.1", "spans-20261204.jsonl", "spans.jsonl.2.gz", "other.jsonl"):
        (tmp_path / name).write_bytes(b"{}\n")
    assert {path.name for path in rotated_names(tmp_path / "spans.jsonl")} == {"spans.jsonl.1", "spans-20261204.jsonl"}
    assert rotated_names(tmp_path / "missing" / "spans.jsonl") == []
