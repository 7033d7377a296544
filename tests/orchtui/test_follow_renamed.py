"""A followed directory where files are rotated by renaming (the spool's roll-over to `<base>.<n>.otlp.jsonl`, a
log's `x.jsonl.1`): the renamed file goes on from where it was under its new name; no span is read twice."""

from __future__ import annotations

import os

import pytest

from orchtui.sources.follow import FileFollower
from orchtui.sources.tracked import TrackedFile
from tests.orchtui.test_follow import Collector, append, line


@pytest.mark.parametrize(
    ("current", "rotated"),
    [
        ("spool-x.otlp.jsonl", "spool-x.1.otlp.jsonl"),  # the new name sorts first: seen before the old path's rotation
        ("spans.jsonl", "spans.jsonl.1"),  # the new name sorts last: seen after it
    ],
)
def test_a_file_renamed_in_a_followed_directory_is_not_read_again(tmp_path, current, rotated) -> None:
    path = tmp_path / current
    path.write_bytes(line("one") + b"\n")
    spans = Collector()
    follower = FileFollower([str(tmp_path)], spans.deliver, spans.report)
    follower.start()
    try:
        spans.wait_for(["one"])
        append(path, line("two") + b"\n")
        path.rename(tmp_path / rotated)
        path.write_bytes(line("three") + b"\n")
        spans.wait_for(["one", "two", "three"])
        append(path, line("four") + b"\n")
        spans.wait_for(["one", "two", "three", "four"])
        follower.scan()  # one more look at everything: still nothing twice
        assert spans.names == ["one", "two", "three", "four"]
    finally:
        follower.stop()
    assert not spans.errors


def test_a_new_file_that_reuses_a_rotated_files_inode_is_read_whole(tmp_path) -> None:
    """An inode number is reused by another file: adopting a position needs the same bytes, not just the number."""
    old = tmp_path / "old.jsonl"
    old.write_bytes(line("gone") + b"\n")
    moved = TrackedFile(old)
    list(moved.read())  # read to its end: offset, identity, probes
    old.unlink()
    other = tmp_path / "other.jsonl"
    other.write_bytes(b" " * 10 + line("new") + b"\n")  # other bytes, longer
    stat = os.stat(other)
    moved.identity = (stat.st_dev, stat.st_ino)  # as if the number had been reused
    reused = TrackedFile(other)
    assert not reused.adopt(moved) and (reused.offset, reused.identity) == (0, None)
