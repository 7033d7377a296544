"""Following files an unlucky user or an attacker produced: poisoned records, truncation hidden by a fast writer,
permissions withdrawn and restored, a protobuf spool seen a few bytes at a time. The follower thread never dies
and the good records around a bad one always arrive.

Tests that depend on file events run the real follower thread and wait (bounded) for what must arrive; tests of a
precise interleaving call `scan()` themselves on a follower whose thread is not started, so no timing decides them.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import orjson
import pytest

from orchtui.sources import records, tracked
from orchtui.sources.follow import TRUNCATIONS, WITHDRAWN, FileFollower
from orchtui.sources.records import FRAMES, LINES, RecordReader, framing_of
from tests.conftest import DATA
from tests.orchtui import test_follow
from tests.orchtui.test_follow import Collector, append, line

follow = test_follow.follow  # the fixture: a started follower, stopped after the test

PROTO_BODY = DATA / "langgraph/langgraph-openinference.otlp.pb"
PROTO_SPANS = 78


def poisoned(name: str, **span_fields) -> bytes:
    span = {"traceId": "cd" * 16, "spanId": os.urandom(8).hex(), "name": name, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    span.update(span_fields)
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def stepped(*targets, **options) -> tuple[FileFollower, Collector]:
    """A follower driven by hand: each `scan()` is one look at the files, nothing happens in between."""
    collector = Collector()
    return FileFollower([str(t) for t in targets], collector.deliver, collector.report, **options), collector


@pytest.fixture
def locked(monkeypatch):
    """Paths whose opening fails with EACCES, as after `chmod 000` for a non-root user (the suite may run as
    root, which no permission bit stops)."""
    paths: set[Path] = set()

    def guarded_open(file, *args, **kwargs):
        if Path(file) in paths:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(tracked, "open", guarded_open, raising=False)
    return paths


# -- one bad record costs nothing else ---------------------------------------------------------------------------


def test_values_of_the_wrong_type_do_not_stop_the_view(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("first") + b"\n")
    spans = follow([path])
    spans.wait_for(["first"])
    bad_status = poisoned("bad-status", status={"code": 2, "message": 5})
    bad_tokens = poisoned("bad-tokens", attributes=[{"key": "llm.token_count.prompt", "value": {"stringValue": "inf"}}])
    append(path, bad_status + b"\n" + bad_tokens + b"\n" + line("after-1") + b"\n" + line("after-2") + b"\n")
    spans.wait_until(lambda: spans.names[-2:] == ["after-1", "after-2"])
    assert set(spans.names) <= {"first", "bad-status", "bad-tokens", "after-1", "after-2"}
    assert all(error.source in (f"{path}:2", f"{path}:3") for error in spans.errors)
    assert spans.follower._thread.is_alive()


def test_whatever_a_parser_raises_costs_only_its_line(tmp_path, follow, monkeypatch):
    real = records.parse_lines

    def exploding(data, *args, **kwargs):  # whatever a parser might still raise, wherever it raises it
        if b"poison" in data:
            raise OverflowError("cannot convert float infinity to integer")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(records, "parse_lines", exploding)
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("a") + b"\n")
    spans = follow([path])
    spans.wait_for(["a"])
    append(path, line("b") + b"\n" + line("poison") + b"\n" + line("c") + b"\n")
    spans.wait_for(["a", "b", "c"])  # b before the poisoned line, c after it, each exactly once
    append(path, line("d") + b"\n")
    spans.wait_for(["a", "b", "c", "d"])
    assert [(e.source, e.message) for e in spans.errors] == [
        (f"{path}:3", "cannot be read: OverflowError: cannot convert float infinity to integer")
    ]
    assert spans.follower._thread.is_alive()


def test_spans_the_view_cannot_take_are_reported_and_following_goes_on(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"")
    spans = follow([path])
    real_deliver = spans.deliver

    def fragile(batch):
        if any(span.name == "boom" for span in batch):
            raise RecursionError("maximum recursion depth exceeded")
        real_deliver(batch)

    spans.follower.deliver = fragile
    append(path, line("boom") + b"\n")
    spans.wait_until(lambda: spans.errors)
    append(path, line("after") + b"\n")
    spans.wait_for(["after"])
    assert len(spans.errors) == 1 and "could not be shown: RecursionError" in spans.errors[0].message


def test_a_protobuf_message_a_parser_chokes_on_costs_only_that_message(monkeypatch):
    from parsers import otlp_proto

    real = otlp_proto.parse_message
    calls = []

    def choking(payload, source, where, result):
        calls.append(source.index)
        if source.index == 1:
            raise MemoryError()
        real(payload, source, where, result)

    monkeypatch.setattr(otlp_proto, "parse_message", choking)
    body = PROTO_BODY.read_bytes()
    frame = len(body).to_bytes(4, "big") + body
    result = RecordReader("spool.otlp.pb").feed(frame * 3)
    assert calls == [0, 1, 2] and len(result.spans) == 2 * PROTO_SPANS
    assert [(e.source, e.message) for e in result.errors] == [("spool.otlp.pb[1]", "message 1: cannot be read: MemoryError")]


# -- truncation, told by identity and content --------------------------------------------------------------------


@pytest.mark.parametrize("longer", [True, False], ids=["more-bytes-than-before", "as-many-bytes-as-before"])
def test_truncation_hidden_by_a_fast_writer_is_detected(tmp_path, longer):
    path = tmp_path / "spans.jsonl"
    old = [f"old-{i:02}" for i in range(50)]
    new = [f"new-{i:02}" for i in range(60 if longer else 50)]
    path.write_bytes(b"".join(line(name) + b"\n" for name in old))
    follower, spans = stepped(path)
    follower.scan()
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # copytruncate, then the writer: between two looks of the follower
        handle.truncate(0)
        handle.write(b"".join(line(name) + b"\n" for name in new))
    assert (path.stat().st_size > size) if longer else (path.stat().st_size == size)
    follower.scan()
    assert spans.names == old + new
    assert spans.errors == [] and spans.skipped == {TRUNCATIONS: 1}


def test_truncation_by_a_writer_that_keeps_its_offset_leaves_no_false_error(tmp_path):
    """A writer without O_APPEND writes on at its old offset after copytruncate: a hole of NUL bytes first."""
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("old") + b"\n")
    follower, spans = stepped(path)
    follower.scan()
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.seek(size)
        handle.write(line("new") + b"\n")
    follower.scan()
    assert spans.names == ["old", "new"] and spans.errors == [] and spans.skipped == {TRUNCATIONS: 1}


def test_appends_are_never_mistaken_for_a_rewrite(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"")
    follower, spans = stepped(path)
    expected = []
    for i in range(30):  # lines with a long common prefix, written in pieces that cut them anywhere
        whole = line(f"s{i}" + "x" * 3000) + b"\n"
        append(path, whole[:1500])
        follower.scan()
        append(path, whole[1500:])
        follower.scan()
        expected.append(f"s{i}" + "x" * 3000)
    assert spans.names == expected and spans.skipped == {} and spans.errors == []


def test_a_rotation_that_reuses_the_inode_number_still_reads_the_new_file(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("one") + b"\n" + line("two") + b"\n")
    follower, spans = stepped(path)
    follower.scan()
    path.unlink()
    path.write_bytes(line("three") + b"\n")  # the freed inode is often handed out again at once
    follower.scan()
    assert spans.names == ["one", "two", "three"] and spans.errors == []


def records_of(kind: str, count: int) -> list[bytes]:
    if kind == "lines":
        return [line(f"r{i}") + b"\n" for i in range(count)]
    body = PROTO_BODY.read_bytes()
    return [len(body).to_bytes(4, "big") + body] * count


def shown(spans: Collector, kind: str) -> int:
    return len(spans.names) if kind == "lines" else len(spans.names) // PROTO_SPANS


@pytest.mark.parametrize("kind", ["lines", "frames"])
@pytest.mark.parametrize("looked_between", [True, False], ids=["seen-cut", "cut-and-rewritten-unseen"])
def test_an_unfinished_record_withdrawn_by_its_writer_is_not_a_restart(tmp_path, kind, looked_between):
    """`orchtui serve` cuts a torn record off when it opens its spool, and a record whose write failed: reading
    goes on from where that record began, so nothing already shown arrives twice."""
    first, second, third = records_of(kind, 3)
    torn = b"{'torn'" + os.urandom(8).hex().encode() if kind == "lines" else (5000).to_bytes(4, "big") + b"\x0a" + os.urandom(100)
    path = tmp_path / "spool"
    path.write_bytes(first + torn)  # a crash mid-write
    follower, spans = stepped(path)
    follower.scan()
    assert shown(spans, kind) == 1
    os.truncate(path, len(first))  # the repair
    if looked_between:
        follower.scan()
    append(path, second + third)  # the retried request, then the next
    follower.scan()
    assert shown(spans, kind) == 3 and spans.errors == []
    assert spans.skipped == {WITHDRAWN: 1}


# -- permissions ---------------------------------------------------------------------------------------------------


def test_starting_on_an_unreadable_file_says_so_and_keeps_watching(tmp_path, follow, locked):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("waiting") + b"\n")
    locked.add(path)
    spans = follow([path])
    spans.wait_until(lambda: spans.errors)
    assert [(e.source, e.message) for e in spans.errors] == [
        (f"{path}:1", "cannot read (Permission denied); following resumes when it can be read")
    ]
    locked.clear()
    spans.wait_for(["waiting"])
    append(path, line("then") + b"\n")
    spans.wait_for(["waiting", "then"])
    assert len(spans.errors) == 1  # said once, not at every retry


def test_a_permission_withdrawn_then_restored_resumes_where_reading_stopped(tmp_path, follow, locked):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("before") + b"\n")
    spans = follow([path])
    spans.wait_for(["before"])
    locked.add(path)
    append(path, line("while-locked") + b"\n")
    spans.wait_until(lambda: spans.errors)
    assert spans.errors[0].source == f"{path}:2" and "Permission denied" in spans.errors[0].message
    locked.clear()
    spans.wait_for(["before", "while-locked"])
    append(path, line("after") + b"\n")
    spans.wait_for(["before", "while-locked", "after"])
    assert spans.follower._thread.is_alive()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permission bits")
def test_a_real_chmod_is_followed_through(tmp_path, follow):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("before") + b"\n")
    spans = follow([path])
    spans.wait_for(["before"])
    with open(path, "ab") as writer:  # opened before the chmod: it can still write
        path.chmod(0)
        writer.write(line("while-locked") + b"\n")
        writer.flush()
        spans.wait_until(lambda: spans.errors)
        assert "Permission denied" in spans.errors[0].message
        path.chmod(0o600)
    spans.wait_for(["before", "while-locked"])


def test_from_end_on_an_unreadable_file_shows_only_what_came_after_the_start(tmp_path, locked):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(line("history") + b"\n")
    locked.add(path)
    follower, spans = stepped(path, from_end=True)
    follower.scan(initial=True)
    append(path, line("new") + b"\n")
    follower.scan()
    assert spans.names == [] and len(spans.errors) == 1
    locked.clear()
    follower.scan()
    assert spans.names == ["new"] and len(spans.errors) == 1


def test_from_end_reads_a_line_being_written_at_start_whole(tmp_path):
    path = tmp_path / "spans.jsonl"
    whole = line("being-written")
    path.write_bytes(line("history") + b"\n" + whole[:30])
    follower, spans = stepped(path, from_end=True)
    follower.scan(initial=True)
    append(path, whole[30:] + b"\n")
    follower.scan()
    assert spans.names == ["being-written"] and spans.errors == []


# -- a protobuf spool seen a few bytes at a time ------------------------------------------------------------------


@pytest.mark.parametrize("first_read", [1, 4, 5, 6])
def test_a_protobuf_spool_first_seen_with_a_few_bytes_is_recognised(tmp_path, first_read):
    body = PROTO_BODY.read_bytes()
    frame = len(body).to_bytes(4, "big") + body
    path = tmp_path / "spool.otlp.pb"
    path.write_bytes(frame[:first_read])
    follower, spans = stepped(path)
    follower.scan()
    assert spans.names == [] and spans.errors == []
    append(path, frame[first_read:] + frame)
    follower.scan()
    assert len(spans.names) == 2 * PROTO_SPANS and spans.errors == []


def test_framing_waits_for_enough_bytes():
    body = PROTO_BODY.read_bytes()
    frame = len(body).to_bytes(4, "big") + body
    assert [framing_of(frame[:n]) for n in range(1, 7)] == [None, None, None, None, FRAMES, FRAMES]
    assert framing_of(b"\n\n\n\n\n") is None  # blank lines so far: JSON may still come
    assert framing_of(b"\n\n\n\n\n{") == LINES
    assert framing_of(b"\x00" * 4 + frame[:5]) == FRAMES  # an empty message first
    assert framing_of(b"\x00" * 9 + b'{"resourceSpans": []}') == LINES  # a copytruncate hole


def test_a_spool_starting_with_a_blank_line_is_followed_as_lines(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"\n" + line("after-a-blank-line") + b"\n")
    follower, spans = stepped(path)
    follower.scan()
    assert spans.names == ["after-a-blank-line"] and spans.errors == []


def test_a_followed_gzip_file_says_it_cannot_be_followed():
    """A .gz given to `tail` is not garbage lines: it is a compressed file, which `open` reads."""
    import gzip

    result = RecordReader("traces.jsonl.gz").feed(gzip.compress(b'{"resourceSpans": []}\n' * 200))
    assert [error.message for error in result.errors] == [
        "gzip-compressed: a followed file must be plain text (orchtui open reads a .gz)"
    ]
    assert result.errors[0].source == "traces.jsonl.gz:1"
