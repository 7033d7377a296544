"""Gzip files read from the middle, so a `.jsonl.gz` keeps its payloads in the file as a plain file does.

A deflate stream can only be decoded from its start: each piece refers back to the 32 KiB before it. But the
decoder's whole state (that window and its position in the bit stream) can be copied (`zlib` `Decompress.copy`),
so while a gzip file is read the first time, `IndexingReader` saves the state every SPACING bytes of output, with
the compressed offset to go on from: a seek point. A record at any decompressed offset is then read from the
nearest seek point before it, decoding about SPACING bytes at most (the zran approach of zlib's examples). A point
holds a copy of the decoder (39 KB measured), so the index of a file is under 2% of its decompressed size,
against the payloads, which decode to about twice it.

Concatenated gzip members (`cat a.gz b.gz`, what log rotation and appenders make) are one stream here, as `gzip`
reads them. The index belongs to the file as it was read: `open_at` refuses a file now shorter than it was
(rewritten or cut; parsers/payloads.py then says the payload is gone), and takes one that grew, since a member
appended after the read leaves what was read in place; a record past a truncation or a corruption was never read,
so nothing points there. (A file rewritten at least as long decodes to other records or fails to: the span ids
read back tell, as for a plain file.)
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Self

from .sniff import GZIP_MAGIC

SPACING = 2 << 20  # decompressed bytes between seek points: a read from the middle decodes at most this (~5 ms)
BLOCK = 64 << 10  # compressed bytes fed to the decoder at a time
PIECE = 1 << 20  # decompressed bytes made at a time: what a highly compressed block holds is let out in pieces
GZIP_WBITS = 31  # zlib's "gzip header and trailer" mode


@dataclass(slots=True)
class _Point:
    out: int  # decompressed offset of the first byte decoded after resuming here
    into: int  # compressed offset from which input is fed again
    decoder: zlib._Decompress  # never used itself: copied for each read, so points stay valid


@dataclass(slots=True)
class GzipIndex:
    """The seek points of one gzip file, made while it is read the first time, and looked up by other threads
    meanwhile: a point is appended before its offset, so every offset in `outs` has its point."""

    size: int  # of the compressed file when its read began
    wanted: bool = True  # False once the reader knows no record will be read back (a whole-document format)
    points: list[_Point] = field(default_factory=list)
    outs: list[int] = field(default_factory=list)  # each point's `out`, for bisect

    def add(self, point: _Point) -> None:
        self.points.append(point)
        self.outs.append(point.out)

    def before(self, offset: int) -> _Point | None:
        """The last seek point at or before decompressed `offset` (None: decode from the file's start)."""
        at = bisect.bisect_right(self.outs, offset)
        return self.points[at - 1] if at else None


_indexes: dict[str, GzipIndex] = {}  # resolved path -> the index of its latest read
_lock = threading.Lock()


def index_of(path: str | os.PathLike[str]) -> GzipIndex | None:
    """The index made the last time `path` was read, if it was a gzip file read by IndexingReader."""
    with _lock:
        return _indexes.get(_key(path))


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def _registered_index(raw: BinaryIO, path: str | os.PathLike[str]) -> GzipIndex:
    """A new, empty index of the file open as `raw`, registered for `path` at once: payloads of what is read can
    be read back while the rest is still being read."""
    index = GzipIndex(os.fstat(raw.fileno()).st_size)
    with _lock:
        _indexes[_key(path)] = index
    return index


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts as gzip does (an unreadable one does not)."""
    try:
        with open(path, "rb") as raw:
            return raw.read(2) == GZIP_MAGIC
    except OSError:
        return False


def text_size(path: str | os.PathLike[str]) -> int:
    """The decompressed size a gzip file's trailer gives: its last member's, modulo 4 GiB (enough to tell a big
    file from a small one: a file whose text wraps past 4 GiB is big compressed too); 0 below a trailer's size."""
    try:
        with open(path, "rb") as raw:
            raw.seek(-4, os.SEEK_END)
            return int.from_bytes(raw.read(4), "little")
    except OSError:
        return 0


class _PieceReader:
    """Reads of any size over a source of bounded pieces (`_piece`). A decoding error raised after some pieces is
    raised only once what decoded before it has been read: a truncated file keeps every line that decompressed (a
    chunk's worth of them had been dropped with the error)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._error: BaseException | None = None

    def _piece(self) -> bytes | None:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        if self._error is not None and not self._buffer:
            error, self._error = self._error, None
            raise error
        pieces = [self._buffer]
        have = len(self._buffer)
        try:
            while (size < 0 or have < size) and (piece := self._piece()) is not None:
                pieces.append(piece)  # at most a piece past `size`: pieces are bounded (PIECE)
                have += len(piece)
        except (EOFError, OSError, zlib.error) as exc:
            if have == 0:
                raise
            self._error = exc
        data = b"".join(pieces)
        if size < 0:
            self._buffer = b""
            return data
        data, self._buffer = data[:size], data[size:]
        return data


class IndexingReader(_PieceReader):
    """A gzip file's decompressed bytes, read in order (what `iter_read_path` streams), saving a seek point every
    SPACING bytes; the index is registered for the path at once, so payloads of what was read can be read back
    while the rest of the file is still being read. Decoding errors raise zlib.error, EOFError or OSError, as
    `gzip.GzipFile` raises them (the caller reports them and keeps what decompressed)."""

    def __init__(self, raw: BinaryIO, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.index = _registered_index(raw, path)
        self._pieces = _inflate(raw, zlib.decompressobj(GZIP_WBITS), 0, 0, self.index)

    def discard_index(self, path: str | os.PathLike[str]) -> None:
        """No record of this file will be read back (its format is read whole): no more seek points, none kept."""
        self.index.wanted = False
        self.index.points.clear()
        self.index.outs.clear()
        with _lock:
            if _indexes.get(_key(path)) is self.index:
                del _indexes[_key(path)]

    def _piece(self) -> bytes | None:
        return next(self._pieces, None)


def open_at(path: str | os.PathLike[str], offset: int) -> RecordReader:
    """A reader of `path`'s decompressed bytes from `offset` on (a line's start, as `iter_read_path` gave it);
    OSError when the file was not read with an index, or is shorter than it was."""
    index = index_of(path)
    if index is None:
        raise OSError("no index of this gzip file was made when it was read")
    raw = open(path, "rb")  # noqa: SIM115 - owned by the reader, closed with it
    try:
        if os.fstat(raw.fileno()).st_size < index.size:
            raise OSError("the gzip file is shorter than when it was read (rewritten or cut)")
        point = index.before(offset)
        if point is None:
            decoder, into, out = zlib.decompressobj(GZIP_WBITS), 0, 0
        else:
            decoder, into, out = point.decoder.copy(), point.into, point.out
        return RecordReader(raw, _inflate(raw, decoder, into, out, None), offset - out)
    except BaseException:
        raw.close()
        raise


class RecordReader:
    """Decompressed bytes from a point in the middle: `readline` is all a line's `reparse` needs."""

    def __init__(self, raw: BinaryIO, pieces: Iterator[bytes], skip: int) -> None:
        self._raw = raw
        self._pieces = pieces
        self._buffer = b""
        while skip > 0:  # decode up to the record, keeping nothing before it
            piece = self._next()
            if not piece:
                break
            if len(piece) <= skip:
                skip -= len(piece)
            else:
                self._buffer, skip = piece[skip:], 0

    def _next(self) -> bytes:
        """The next decompressed piece; b"" at the end, also the end of a stream truncated after the record (it
        was read whole the first time, so what matters decodes)."""
        try:
            return next(self._pieces, b"")
        except (EOFError, zlib.error):
            return b""

    def readline(self, limit: int = -1) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0 and (limit < 0 or len(self._buffer) < limit):
            piece = self._next()
            if not piece:
                break
            self._buffer += piece
        cut = len(self._buffer) if end < 0 else end + 1
        if limit >= 0:
            cut = min(cut, limit)
        line, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return line

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _inflate(raw: BinaryIO, decoder, into: int, out: int, index: GzipIndex | None) -> Iterator[bytes]:
    """Decompressed pieces of at most PIECE bytes (a bomb inflates a piece at a time) from compressed offset
    `into` (`decoder` in the state it had there, `out` bytes decoded before it), across concatenated members; with
    an `index`, a seek point every SPACING bytes. A stream that stops inside a member raises EOFError, as `gzip`
    does."""
    raw.seek(into)
    last_point = out
    while True:
        data = raw.read(BLOCK)
        if not data:
            while not decoder.eof and (piece := decoder.decompress(b"", PIECE)):  # what the last input still holds
                yield piece
            if not decoder.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return
        into += len(data)
        while data:
            if decoder.eof:  # a member ended: the next starts here (zero padding between members is skipped)
                data = data.lstrip(b"\x00")
                if not data:
                    break
                decoder = zlib.decompressobj(GZIP_WBITS)
            piece = decoder.decompress(data, PIECE)
            out += len(piece)
            if piece:
                yield piece
            data = decoder.unused_data if decoder.eof else decoder.unconsumed_tail
            if index is not None and index.wanted and not decoder.eof and out - last_point >= SPACING:
                # The state with the input before `into - len(data)` consumed: a read resumes feeding there.
                index.add(_Point(out, into - len(data), decoder.copy()))
                last_point = out


def forget(path: str | Path) -> None:
    """Drop the index of `path` (a test rewrites the file)."""
    with _lock:
        _indexes.pop(_key(path), None)


class GzipPart(_PieceReader):
    """One side of a gzip file cut in two for two processes, each of which decompresses it from the start (a
    deflate stream cannot be entered in the middle) and parses its side (orchtui/split_load.py).

    The cut needs no word between the processes: both run the same decoder over the same bytes, so they see the
    same pieces at the same compressed positions. The cut is at the first line start at or after the first byte of
    the first piece decoded once the compressed input read has reached `cut_into` (`_sides`); a file that ends
    first leaves the second side empty. `first` reads the bytes before the cut; the other side skips them,
    counting their line ends (`lines_before`, for line numbers), and reads the rest, from `cut`. A decoding error
    is raised on the side it cuts short (as `IndexingReader` raises it) and only there: before the cut, the second
    side just ends. The first side saves seek points and registers its index as `IndexingReader` does;
    `index_the_rest` then decodes the second side too, so this process can read back the other's records (the
    second side, in the worker, never reads one back)."""

    def __init__(self, raw: BinaryIO, path: str | os.PathLike[str], cut_into: int, *, first: bool) -> None:
        super().__init__()
        self._first = first
        index = _registered_index(raw, path) if first else None
        self._sides = _sides(raw, _inflate(raw, zlib.decompressobj(GZIP_WBITS), 0, 0, index), cut_into)
        self._out = 0  # decompressed bytes taken from `_sides`
        self._ended = False
        self.cut: int | None = None  # decompressed offset of the cut, once reached
        self.lines_before = 0  # line ends before the cut (counted by the second side as it skips them)
        if not first:
            self._skip_first_side()

    def index_the_rest(self) -> None:
        """Decode what is left of the file for its seek points (the first side, once read); a decoding error ends
        it quietly: the other side reports it."""
        with contextlib.suppress(EOFError, OSError, zlib.error):
            for _ in self._sides:
                pass

    def _piece(self) -> bytes | None:
        """The next piece of this side, None at its end."""
        if self._ended:
            return None
        piece, before_cut = next(self._sides, (None, True))
        if piece is not None and before_cut == self._first:
            self._out += len(piece)
            return piece
        self._ended = True
        if piece is not None:  # the first side's end: the second side's first piece
            self.cut = self._out
        return None

    def _skip_first_side(self) -> None:
        try:
            for piece, before_cut in self._sides:
                if not before_cut:
                    self.cut, self._buffer = self._out, piece
                    self._out += len(piece)
                    return
                self.lines_before += piece.count(b"\n")
                self._out += len(piece)
        except (EOFError, OSError, zlib.error):  # before the cut: the first side reports it
            pass
        self._ended = True  # no second side


def _sides(raw: BinaryIO, pieces: Iterator[bytes], cut_into: int) -> Iterator[tuple[bytes, bool]]:
    """Each decompressed piece with whether it lies before the cut (see GzipPart), the piece that holds the cut
    given in two."""
    line_start = True  # offset 0 is a line start
    for piece in pieces:  # never empty
        if raw.tell() >= cut_into:  # the input read has reached the cut: the first line start from here on
            at = 0 if line_start else piece.find(b"\n") + 1
            if line_start or at:
                if at:
                    yield piece[:at], True
                if at < len(piece):
                    yield piece[at:], False
                for rest in pieces:
                    yield rest, False
                return
        yield piece, True
        line_start = piece.endswith(b"\n")
