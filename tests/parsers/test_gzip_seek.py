"""A gzip file read from the middle (parsers/gzip_seek.py): a line read back at its offset is the line that was
read, from any seek point, across concatenated members, and a file that changed or was cut says so."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers import gzip_seek, payloads
from parsers.read import iter_read_path
from tests.golden import ROOT
from tests.parsers.test_payloads import STREAMED, payload_of, read_spans


@pytest.fixture(autouse=True)
def _small_points(monkeypatch):
    """Seek points every 512 decompressed bytes, input fed 256 bytes at a time and let out 300 at a time: every
    fixture has many points, and many reads stop mid-block."""
    monkeypatch.setattr(gzip_seek, "SPACING", 512)
    monkeypatch.setattr(gzip_seek, "BLOCK", 256)
    monkeypatch.setattr(gzip_seek, "PIECE", 300)
    monkeypatch.setattr(payloads, "stats", payloads.PayloadStats())  # counts of this test only
    payloads.forget()
    yield
    payloads.forget()


COLLECTOR_FILE = ROOT / "tests/data/otlp/otel-demo-collector-file-exporter.jsonl"


def gzipped_collector_file(tmp_path: Path) -> Path:
    path = tmp_path / "spans.jsonl.gz"
    path.write_bytes(gzip.compress(COLLECTOR_FILE.read_bytes()))
    return path


def payloads_by_id(path: Path) -> dict[tuple[str, str], dict]:
    return {(span.trace_id, span.span_id): payload_of(span) for span in read_spans(path)}


def members(data: bytes, parts: int = 1) -> bytes:
    """`data` gzipped as `parts` concatenated members cut at line ends, zero padding between them."""
    lines = data.splitlines(keepends=True)
    size = max(1, len(lines) // parts)
    chunks = [b"".join(lines[i : i + size]) for i in range(0, len(lines), size)]
    return b"\0\0".join(gzip.compress(chunk, compresslevel=6) for chunk in chunks)


@pytest.mark.parametrize("parts", [1, 3], ids=["one member", "three members"])
@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_an_evicted_payload_of_a_gzip_file_reads_back_identical(tmp_path: Path, fixture: Path, parts: int) -> None:
    kept = [payload_of(span) for span in read_spans(ROOT / fixture)]
    zipped = tmp_path / "spans.jsonl.gz"
    zipped.write_bytes(members((ROOT / fixture).read_bytes(), parts))
    evicted = read_spans(zipped, chunk_bytes=2048)
    assert sum(span.evict_payload() for span in evicted) == len(evicted)
    assert [payload_of(span) for span in reversed(evicted)][::-1] == kept  # read back in any order
    assert payloads.stats.lost == 0
    index = gzip_seek.index_of(zipped)
    assert index is not None and (len(index.points) > 2 or zipped.stat().st_size < 2048)


LINE = st.binary(min_size=0, max_size=300).map(lambda b: b.replace(b"\n", b""))  # without its line end
MEMBERS, BLOCKS, PIECES = st.integers(1, 4), st.integers(1, 700), st.integers(1, 900)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=40), parts=MEMBERS, spacing=st.integers(1, 2000), block=BLOCKS, piece=PIECES)
def test_every_line_reads_back_at_its_offset_from_any_seek_point(tmp_path_factory, lines, parts, spacing, block, piece):
    data = b"".join(line + b"\n" for line in lines)
    path = tmp_path_factory.mktemp("gz") / "lines.gz"
    path.write_bytes(members(data, parts))
    old = gzip_seek.SPACING, gzip_seek.BLOCK, gzip_seek.PIECE
    gzip_seek.SPACING, gzip_seek.BLOCK, gzip_seek.PIECE = spacing, block, piece
    try:
        with path.open("rb") as raw:
            reader = gzip_seek.IndexingReader(raw, path)
            assert reader.read() == data  # read in order, it is the file's content
        offset = 0
        for line in lines:
            with gzip_seek.open_at(path, offset) as record:
                assert record.readline() == line + b"\n"
            offset += len(line) + 1
        outs = gzip_seek.index_of(path).outs
        assert all(later - earlier >= spacing for earlier, later in zip([0, *outs], outs)) and outs[-1:] <= [len(data)]
    finally:
        gzip_seek.SPACING, gzip_seek.BLOCK, gzip_seek.PIECE = old
        gzip_seek.forget(path)


def test_a_read_from_the_middle_goes_on_from_the_last_seek_point_before_it(tmp_path: Path) -> None:
    data = b"".join(b'{"n": %d}\n' % n for n in range(2000))
    path = tmp_path / "lines.gz"
    path.write_bytes(gzip.compress(data))
    with path.open("rb") as raw:
        gzip_seek.IndexingReader(raw, path).read()
    index = gzip_seek.index_of(path)
    offset = data.index(b'{"n": 1500}')
    point = index.before(offset)
    assert point is not None and point.out <= offset
    assert index.points[index.points.index(point) + 1].out > offset  # the last one before it
    with gzip_seek.open_at(path, offset) as record:
        assert record.readline() == b'{"n": 1500}\n'
        fed = record._raw.tell() - point.into
    assert 0 < fed <= 2 * gzip_seek.BLOCK  # input from the point on, not from the file's start


def test_a_truncated_gzip_file_reads_back_what_was_read_and_reports_the_cut(tmp_path: Path) -> None:
    whole = gzip.compress(COLLECTOR_FILE.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    results = [result for result, _ in iter_read_path(cut)]
    spans = [span for result in results for span in result.spans]
    errors = [error for result in results for error in result.errors]
    assert spans and any("gzip stream is truncated or corrupt" in error.message for error in errors)
    kept = payloads_by_id(COLLECTOR_FILE)
    assert all(span.evict_payload() for span in spans)
    assert all(payload_of(span) == kept[(span.trace_id, span.span_id)] for span in spans)
    assert payloads.stats.lost == 0


def test_a_gzip_file_cut_or_rewritten_since_it_was_read_gives_a_payload_that_says_so(tmp_path: Path) -> None:
    path = gzipped_collector_file(tmp_path)
    first, second = (next(span for span in read_spans(path)[start:] if span.attributes) for start in (0, 40))
    assert first.evict_payload() and second.evict_payload()
    path.write_bytes(path.read_bytes()[:100])  # cut: shorter than it was read
    assert "shorter than when it was read" in first.attributes[payloads.LOST_KEY]
    path.write_bytes(gzip.compress(b"\n".join(reversed(COLLECTOR_FILE.read_bytes().splitlines())) + b"\n" * 999))  # longer
    assert payloads.LOST_KEY in second.attributes  # another record there: the span ids tell
    assert payloads.stats.lost == 2


def test_a_gzip_file_grown_by_a_member_since_it_was_read_still_reads_back(tmp_path: Path) -> None:
    path = gzipped_collector_file(tmp_path)
    kept = payloads_by_id(COLLECTOR_FILE)
    spans = read_spans(path)
    assert all(span.evict_payload() for span in spans)
    with path.open("ab") as appended:  # an appender's next member
        appended.write(gzip.compress(b'{"resourceSpans": []}\n'))
    assert all(payload_of(span) == kept[(span.trace_id, span.span_id)] for span in spans)
    assert payloads.stats.lost == 0


def test_a_gzip_file_read_without_an_index_gives_a_payload_that_says_so(tmp_path: Path) -> None:
    path = gzipped_collector_file(tmp_path)
    span = next(span for span in read_spans(path) if span.attributes)
    assert span.evict_payload()
    gzip_seek.forget(path)
    assert "no index" in span.attributes[payloads.LOST_KEY]


def test_a_gzip_file_of_a_whole_document_format_keeps_no_seek_points(tmp_path: Path) -> None:
    document = ROOT / "tests/data/langgraph/langgraph-openinference.console.json"  # 300 KB: many points' worth
    path = tmp_path / "document.json.gz"
    path.write_bytes(gzip.compress(document.read_bytes()))
    spans = read_spans(path)
    assert spans and not any(span.evict_payload() for span in spans)  # read whole: no lines to go back to
    assert gzip_seek.index_of(path) is None


def test_a_bomb_is_let_out_a_piece_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "zeros.gz"
    path.write_bytes(gzip.compress(b"0" * (8 << 20), compresslevel=9))  # 8 MiB in about 8 KB
    with path.open("rb") as raw:
        pieces = gzip_seek._inflate(raw, zlib.decompressobj(gzip_seek.GZIP_WBITS), 0, 0, None)
        sizes = [len(piece) for piece in pieces]
    assert sum(sizes) == 8 << 20 and max(sizes) <= gzip_seek.PIECE


def test_corrupt_gzip_data_raises_what_the_reader_reports(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    good = gzip.compress(b'{"a": 1}\n' * 50)
    path.write_bytes(good + b"\x1f\x8bgarbage that is not deflate")
    with path.open("rb") as raw:
        reader = gzip_seek.IndexingReader(raw, path)
        assert reader.read() == b'{"a": 1}\n' * 50  # what decoded before the damage comes first
        with pytest.raises((zlib.error, EOFError, OSError)):
            reader.read()


def test_a_truncated_gzip_file_keeps_every_line_that_decompressed(tmp_path: Path) -> None:
    """The error ended the read with the lines decoded in the same read call still buffered: a chunk's worth of
    them (all of a file under 256 KiB of text) was lost without a word."""
    whole = gzip.compress(COLLECTOR_FILE.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    decoded = zlib.decompressobj(wbits=31).decompress(cut.read_bytes())
    complete = tmp_path / "complete.jsonl"
    complete.write_bytes(decoded[: decoded.rfind(b"\n") + 1])
    expected = [span.span_id for span in read_spans(complete)]
    for chunk_bytes in (1 << 10, 256 << 10, 16 << 20):
        assert [span.span_id for span in read_spans(cut, chunk_bytes)] == expected


def read_side(path: Path, cut_into: int, *, first: bool) -> tuple[bytes, gzip_seek.GzipPart, Exception | None]:
    """What one side of the cut reads, its reader, and the error it raised (None: it read to its end)."""
    with path.open("rb") as raw:
        part = gzip_seek.GzipPart(raw, path, cut_into, first=first)
        pieces = []
        try:
            while piece := part.read(1000):
                pieces.append(piece)
        except (EOFError, zlib.error) as exc:
            return b"".join(pieces), part, exc
        if first:
            part.index_the_rest()
        return b"".join(pieces), part, None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=40), parts=MEMBERS, block=BLOCKS, piece=PIECES, where=st.floats(0, 1.2))
def test_the_two_sides_of_a_cut_are_the_file_cut_at_a_line_start(tmp_path_factory, lines, parts, block, piece, where):
    """Two processes cut a gzip file's text at the same line start without a word between them, and between
    them read every byte once: the first side's bytes, then the second's, are the text."""
    data = b"".join(line + b"\n" for line in lines)
    path = tmp_path_factory.mktemp("gz") / "lines.gz"
    path.write_bytes(members(data, parts) if data else gzip.compress(b""))
    old = gzip_seek.BLOCK, gzip_seek.PIECE
    gzip_seek.BLOCK, gzip_seek.PIECE = block, piece
    try:
        cut_into = int(path.stat().st_size * where)
        first, first_part, first_error = read_side(path, cut_into, first=True)
        second, second_part, second_error = read_side(path, cut_into, first=False)
        assert first_error is None and second_error is None
        assert first + second == data
        assert first == b"" or first.endswith(b"\n")  # a line start
        assert second_part.lines_before == first.count(b"\n")
        if second:
            assert first_part.cut == second_part.cut == len(first)
        else:  # the cut would have been at the end, or the compressed offset was never reached
            assert second_part.cut is None
        offset = 0  # the first side indexed the whole file: every line reads back, the second side's too
        for line in lines:
            with gzip_seek.open_at(path, offset) as record:
                assert record.readline() == line + b"\n"
            offset += len(line) + 1
    finally:
        gzip_seek.BLOCK, gzip_seek.PIECE = old
        gzip_seek.forget(path)


def test_the_cut_falls_near_the_compressed_offset_asked_for(tmp_path: Path) -> None:
    data = b"".join(b'{"n": %d, "pad": "%s"}\n' % (n, b"x" * (n % 97)) for n in range(20_000))
    path = tmp_path / "lines.gz"
    path.write_bytes(gzip.compress(data))
    size = path.stat().st_size
    first, _, _ = read_side(path, size // 2, first=True)
    assert 0.4 < len(first) / len(data) < 0.6  # about half the text (the cut is in compressed bytes)


@pytest.mark.parametrize("where", [0.3, 0.8], ids=["before the cut", "after the cut"])
def test_a_decoding_error_is_raised_on_the_side_it_cuts_short_only(tmp_path: Path, where: float) -> None:
    """A truncated or corrupt stream is one error in a report, as when one process reads the file: the side whose
    bytes it cuts short raises it; before the cut, the second side just has nothing."""
    data = b"".join(b'{"n": %d}\n' % n for n in range(5000))
    whole = gzip.compress(data)
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: int(len(whole) * where)])
    cut_into = int(len(whole) * 0.5)
    first, _, first_error = read_side(path, cut_into, first=True)
    second, second_part, second_error = read_side(path, cut_into, first=False)
    assert (first_error is not None, second_error is not None) == ((True, False) if where < 0.5 else (False, True))
    assert second == b"" if where < 0.5 else second_part.cut == len(first)
    assert first and data.startswith(first + second)  # what decompressed, once


def read_whole(path: Path) -> tuple[bytes, Exception | None]:
    """What one process reading the file with `IndexingReader` reads, and the error it meets."""
    pieces = []
    with path.open("rb") as raw:
        reader = gzip_seek.IndexingReader(raw, path)
        try:
            while piece := reader.read(1000):
                pieces.append(piece)
        except (EOFError, zlib.error) as exc:
            return b"".join(pieces), exc
    return b"".join(pieces), None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(LINE, max_size=40),
    parts=MEMBERS,
    block=BLOCKS,
    piece=PIECES,
    damage=st.sampled_from(["cut", "flipped byte", "trailing garbage"]),
    at=st.floats(0, 1),
    where=st.floats(0, 1.2),
)
def test_a_damaged_file_cut_in_two_reads_and_reports_what_one_reader_does(
    tmp_path_factory, lines, parts, block, piece, damage, at, where
):
    """Truncated, corrupt or followed by garbage: the two sides together read what one reader reads, and its
    error is raised on one side only (a report says it once, as when one process reads the file)."""
    blob = members(b"".join(line + b"\n" for line in lines), parts) if lines else gzip.compress(b"")
    position = min(len(blob) - 1, int(len(blob) * at))
    if damage == "cut":
        blob = blob[: max(1, position)]
    elif damage == "flipped byte":
        blob = blob[:position] + bytes([blob[position] ^ 0xFF]) + blob[position + 1 :]
    else:
        blob += b"not gzip at all"
    path = tmp_path_factory.mktemp("gz") / "damaged.gz"
    path.write_bytes(blob)
    old = gzip_seek.BLOCK, gzip_seek.PIECE
    gzip_seek.BLOCK, gzip_seek.PIECE = block, piece
    try:
        whole, error = read_whole(path)
        cut_into = int(len(blob) * where)
        first, _, first_error = read_side(path, cut_into, first=True)
        second, _, second_error = read_side(path, cut_into, first=False)
        assert first + second == whole
        assert len([e for e in (first_error, second_error) if e is not None]) == (error is not None)
    finally:
        gzip_seek.BLOCK, gzip_seek.PIECE = old
        gzip_seek.forget(path)
