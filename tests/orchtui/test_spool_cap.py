"""`--spool-max`: the spool rolls over at a quarter of its cap, the oldest spool files are deleted beyond it (never
one being written, by this orchtui or another), only spool files of the base or family are counted, and each
deletion is said."""

from __future__ import annotations

import os
import time

import orjson
import pytest

from orchtui.sources.spool import DEFAULT_FAMILY, Spool, SpoolCap, parse_spool_max
from parsers import read_path
from orchtui.cli import main
from tests.orchtui.test_follow import follow  # noqa: F401 - the fixture

HOUR = 3600


def record(number: int, padding: int = 60) -> bytes:
    """One JSON request of one span, about 100 + padding bytes."""
    span = {"traceId": f"{number + 1:032x}", "spanId": f"{number + 1:016x}", "name": f"r{number}", "startTimeUnixNano": "1",
            "endTimeUnixNano": "2", "attributes": [{"key": "pad", "value": {"stringValue": "x" * padding}}]}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def names_in(paths) -> list[str]:
    return [span.name for path in paths for span in read_path(path).spans]


def total(directory, pattern: str = "*.otlp.*") -> int:
    return sum(path.stat().st_size for path in directory.glob(pattern))


def settle(spool: Spool) -> None:
    """Run the pruner's check now (it also runs on its own thread after each roll-over)."""
    spool.prune()


@pytest.mark.parametrize(
    ("text", "max_bytes", "max_age"),
    [
        ("500M", 500 << 20, None),
        ("2G", 2 << 30, None),
        ("1.5g", int(1.5 * (1 << 30)), None),
        ("800KiB", 800 << 10, None),
        ("4096", 4096, None),
        ("7d", None, 7 * 86400.0),
        ("12h", None, 12 * 3600.0),
        ("2G,7d", 2 << 30, 7 * 86400.0),
    ],
)
def test_spool_max_sizes_and_ages(text, max_bytes, max_age):
    assert parse_spool_max(text) == SpoolCap(max_bytes, max_age)


def test_bad_spool_max_is_a_usage_error(capsys):
    for bad in ("7y", "lots", "0", "-1G", ""):
        with pytest.raises(ValueError):
            parse_spool_max(bad)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--spool-max", "7y"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--spool-max" in err and "got '7y'" in err
    assert parse_spool_max("7d", parse_spool_max("2G")) == SpoolCap(2 << 30, 7 * 86400.0)  # repeated flags add up


def test_the_file_being_written_rolls_over_at_a_quarter_of_the_cap_and_nothing_is_lost(tmp_path):
    spool = Spool(tmp_path / "base", SpoolCap(max_bytes=40_000))
    try:
        for number in range(100):  # ~16 KB: rolled over, not pruned
            spool.write_json(record(number))
        segments = spool.segments()
        assert [path.name for path in segments][:3] == ["base.1.otlp.jsonl", "base.2.otlp.jsonl", "base.3.otlp.jsonl"]
        assert all(path.stat().st_size <= 10_000 for path in segments + [spool.json_path])
        assert names_in(segments + [spool.json_path]) == [f"r{n}" for n in range(100)]  # in order, each once
        assert spool.pruned_files == 0
    finally:
        spool.close()


def test_the_oldest_files_go_beyond_the_cap_and_the_file_being_written_stays(tmp_path):
    said = []
    spool = Spool(tmp_path / "base", SpoolCap(max_bytes=2_000), on_prune=said.append)
    try:
        for number in range(60):
            spool.write_json(record(number))
        settle(spool)
        assert total(tmp_path) <= 2_000
        kept = spool.segments() + [spool.json_path]
        names = names_in(kept)
        assert names == [f"r{n}" for n in range(60 - len(names), 60)]  # the newest are kept, in order
        assert said and all(message.startswith(f"spool cap {spool.cap}: deleted ") for message in said)
        assert "oldest spool file" in said[0] and "base.1.otlp.jsonl" in said[0]
        assert spool.pruned_files >= 1 and spool.pruned_bytes > 0
        assert spool.pruned and spool.pruned[-1] == said[-1]
    finally:
        spool.close()


def test_a_file_being_written_is_never_deleted_even_over_the_cap(tmp_path):
    spool = Spool(tmp_path / "base", SpoolCap(max_bytes=100))
    try:
        spool.write_proto(b"\x0a\x00" * 500)
        settle(spool)
        assert spool.proto_path.exists() and spool.proto_path.stat().st_size == 1004
        spool.write_proto(b"\x0a\x00" * 10)  # rolls over: the full file is now an old one, and goes
        settle(spool)
        assert spool.segments() == [] and spool.proto_path.stat().st_size == 24
    finally:
        spool.close()


def test_another_orchtuis_current_spool_is_skipped_until_it_closes(tmp_path):
    """Two sessions share the default spool directory: the capped one never deletes what the other is writing."""
    other = Spool(tmp_path / f"{DEFAULT_FAMILY}20240101-000000")
    other.write_json(record(1, padding=3000))
    os.utime(other.json_path, (time.time() - HOUR, time.time() - HOUR))
    capped = Spool(tmp_path / f"{DEFAULT_FAMILY}20240102-000000", SpoolCap(max_bytes=1000), family=DEFAULT_FAMILY)
    try:
        capped.write_json(record(2))
        settle(capped)
        assert other.json_path.exists()  # locked by its writer
        other.close()
        settle(capped)
        assert not other.json_path.exists()
        assert capped.json_path.exists()
    finally:
        other.close()
        capped.close()


def test_only_spool_files_of_the_family_or_base_are_counted(tmp_path):
    unrelated = [tmp_path / "notes.txt", tmp_path / "other.otlp.jsonl", tmp_path / "exported.otlp.json", tmp_path / "base-old.otlp.pb"]
    for path in unrelated:
        path.write_bytes(b"x" * 5000)
        os.utime(path, (time.time() - HOUR, time.time() - HOUR))
    session = tmp_path / f"{DEFAULT_FAMILY}old.otlp.pb"
    session.write_bytes(b"\x00" * 5000)
    os.utime(session, (time.time() - HOUR, time.time() - HOUR))
    own = Spool(tmp_path / "base", SpoolCap(max_bytes=1000))  # a --save base: its own files only
    try:
        own.write_json(record(1))
        settle(own)
        assert all(path.exists() for path in unrelated) and session.exists()
    finally:
        own.close()
    family = Spool(tmp_path / f"{DEFAULT_FAMILY}new", SpoolCap(max_bytes=1000), family=DEFAULT_FAMILY)  # the default
    try:
        family.write_json(record(1))
        settle(family)
        assert not session.exists() and all(path.exists() for path in unrelated)
    finally:
        family.close()


def test_an_age_cap_deletes_files_last_written_before_it_and_rolls_the_current_file_over(tmp_path):
    said = []
    old, recent = tmp_path / "base.1.otlp.jsonl", tmp_path / "base.2.otlp.jsonl"
    old.write_bytes(record(1) + b"\n")
    recent.write_bytes(record(2) + b"\n")
    os.utime(old, (time.time() - 3 * 86400, time.time() - 3 * 86400))
    os.utime(recent, (time.time() - HOUR, time.time() - HOUR))
    spool = Spool(tmp_path / "base", parse_spool_max("2d"), on_prune=said.append)
    try:
        spool.write_json(record(3))
        os.utime(spool.json_path, (time.time() - 3 * 86400, time.time() - 3 * 86400))  # being written: kept anyway
        settle(spool)
        assert not old.exists() and recent.exists() and spool.json_path.exists()
        assert said and "2 d" in said[0] and "base.1.otlp.jsonl" in said[0]
        # Written to just now again: once rolled over it is not past the age cap, so the pruner thread (woken by
        # the roll-over, at a moment the test does not control) has no reason to delete it.
        os.utime(spool.json_path, None)
        spool._appenders[spool.json_path].started -= 86400  # written for more than a quarter of the age cap
        spool.write_json(record(4))
        assert [path.name for path in spool.segments()] == ["base.2.otlp.jsonl", "base.3.otlp.jsonl"]
        assert names_in([spool.json_path]) == ["r4"]
    finally:
        spool.close()


def test_a_follower_of_the_spool_path_reads_every_record_once_across_roll_overs(tmp_path, follow):  # noqa: F811
    spool = Spool(tmp_path / "base", SpoolCap(max_bytes=40_000))
    spans = follow([spool.json_path])
    try:
        for number in range(100):
            spool.write_json(record(number))
            if number % 25 == 0:
                time.sleep(0.05)  # let the follower catch up now and then, as a live one does
        spans.wait_for([f"r{n}" for n in range(100)], timeout=15)
        assert spans.errors == [] and len(spool.segments()) >= 3
    finally:
        spool.close()
