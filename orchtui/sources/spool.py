"""The receiver's spool: append-only files of every acknowledged request, whole records or nothing.

`<base>.otlp.jsonl` holds JSON requests one per line; `<base>.otlp.pb` holds protobuf requests as the collector's
length-prefixed frames (4-byte big-endian length, then the message). Readers (`orchtui open`, `tail`) rely on
every record being complete, so:

- On open, a torn last record (a crash mid-write: a final line without its newline, a frame shorter than its
  prefix says) is cut off. It was never acknowledged (the 200 goes out after the write), and appending after it
  would glue the next JSON line to it or desynchronise every later protobuf frame. What was cut is listed in
  `Spool.repairs`.
- A record is written with one unbuffered `write` loop on an O_APPEND descriptor; if the disk is full or any
  write fails, the file is truncated back to where the record began and the error is raised, so the caller
  answers 503 (the client retries) and no partial record or unacknowledged span stays behind.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

PREFIX = 4  # bytes of a protobuf frame's length prefix
_SCAN_BLOCK = 1 << 16


@dataclass
class _Appender:
    fd: int
    size: int  # bytes of complete records: where the next record begins


class Spool:
    """Append-only files of everything accepted: `<base>.otlp.jsonl` for JSON, `<base>.otlp.pb` for protobuf."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.parent.mkdir(parents=True, exist_ok=True)
        self.json_path = base.with_name(base.name + ".otlp.jsonl")
        self.proto_path = base.with_name(base.name + ".otlp.pb")
        self.repairs: list[str] = []  # one message per torn record cut on open
        self._appenders: dict[Path, _Appender] = {}
        self._lock = threading.Lock()
        self._write = os.write  # the one system call a record goes through (tests inject a full disk here)
        for path, framed in ((self.json_path, False), (self.proto_path, True)):
            if path.exists():
                self._repair(path, framed)

    def write_json(self, body: bytes) -> None:
        """One JSON request as one line. JSON strings cannot hold a raw newline, so a pretty-printed body becomes
        one line without re-encoding."""
        self._append(self.json_path, False, body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n")

    def write_proto(self, body: bytes) -> None:
        """One protobuf request as one length-prefixed frame."""
        self._append(self.proto_path, True, len(body).to_bytes(PREFIX, "big") + body)

    def paths(self) -> list[Path]:
        return [p for p in (self.json_path, self.proto_path) if p.exists()]

    def close(self) -> None:
        with self._lock:
            for appender in self._appenders.values():
                os.close(appender.fd)
            self._appenders.clear()

    # -- internals ------------------------------------------------------------------------------------------------

    def _append(self, path: Path, framed: bool, record: bytes) -> None:
        with self._lock:
            appender = self._appenders.get(path)
            if appender is None:
                appender = self._appenders[path] = self._open(path, framed)
            view = memoryview(record)
            try:
                while view:
                    view = view[self._write(appender.fd, view) :]
            except OSError:
                self._cut_back(path, appender)
                raise
            appender.size += len(record)

    def _open(self, path: Path, framed: bool) -> _Appender:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = self._repair(path, framed, fd)
        except BaseException:
            os.close(fd)
            raise
        return _Appender(fd, size)

    def _cut_back(self, path: Path, appender: _Appender) -> None:
        """Undo a partly written record. If even that fails the descriptor is dropped: the next write reopens the
        file, whose repair cuts the partial record then."""
        try:
            os.ftruncate(appender.fd, appender.size)
        except OSError:
            os.close(appender.fd)
            del self._appenders[path]

    def _repair(self, path: Path, framed: bool, fd: int | None = None) -> int:
        """Cut a torn last record; returns the size of the complete records."""
        with open(path, "rb") as reader:
            size = os.fstat(reader.fileno()).st_size
            complete = _complete_frames(reader, size) if framed else _complete_lines(reader, size)
        if complete < size:
            if fd is None:
                os.truncate(path, complete)
            else:
                os.ftruncate(fd, complete)
            self.repairs.append(f"{path}: cut a torn last record ({size - complete} bytes at byte {complete})")
        return complete


def _complete_lines(reader, size: int) -> int:
    """Bytes up to and including the last newline (0 when there is none)."""
    end = size
    while end > 0:
        start = max(0, end - _SCAN_BLOCK)
        reader.seek(start)
        newline = reader.read(end - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _complete_frames(reader, size: int) -> int:
    """Bytes of whole frames from the start: the offset of the first frame that does not fit."""
    offset = 0
    while size - offset >= PREFIX:
        reader.seek(offset)
        length = int.from_bytes(reader.read(PREFIX), "big")
        if length > size - offset - PREFIX:
            break
        offset += PREFIX + length
    return offset


def default_spool_base() -> Path:
    """`$XDG_STATE_HOME/orchtui/spool-<time>` (default `~/.local/state`)."""
    import time

    from ..dirs import state_dir

    return state_dir() / time.strftime("spool-%Y%m%d-%H%M%S")
