"""Which bytes of one followed file are new: appends, truncation and rotation, told apart by identity and content.

Size alone cannot tell an append from `copytruncate` followed at once by a fast writer (the file is longer than
before, yet its bytes are all new). So a followed file is known by its identity (device and inode: a different
one at the same path is a rotation) and by content: the first and the last bytes read (up to `PROBE` each) must
still be where they were, else the file was truncated or rewritten and is read again from its start. A file
whose size, identity and modification time are unchanged since a complete read is not opened at all.

One shrink is not a restart: a writer withdrawing an unfinished last record (`orchtui serve` cuts a torn record
off on open, and a record whose write failed), told by the bytes of every complete record still being in place.
Reading goes on from where that record began, so nothing already shown is read twice.

Reading raises `OSError` (permission withdrawn, an I/O error); the position only ever moves past bytes that were
read, so the caller reports the error, tries again later and resumes exactly where reading stopped.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

READ_CHUNK = 1 << 20
PROBE = 4096  # bytes compared at the start of the file and just before the position

ROTATED = "rotated"
TRUNCATED = "truncated"


@dataclass(frozen=True)
class CutBack:
    """The unfinished last record was withdrawn by its writer: what follows is read from where it began."""


@dataclass(frozen=True)
class Restart:
    """What follows starts a file over: `reason` is ROTATED (a new file at the path, the old one's last bytes came
    before this) or TRUNCATED (truncated or rewritten in place). `problem` says what could not be read."""

    reason: str
    problem: str | None = None


@dataclass
class TrackedFile:
    """The read position in one path, and what is needed to know it still means the same bytes."""

    path: Path
    offset: int = 0
    identity: tuple[int, int] | None = None  # (device, inode) of the file the offset is in
    mtime_ns: int | None = None
    head: bytes = b""  # the first bytes read
    tail: bytes = b""  # the last bytes read, ending at `offset`
    settled: bool = False  # the last read reached the end without an error
    rotated_away: "TrackedFile | None" = None  # after a rotation: where reading of the renamed file ended

    def adopt(self, moved: "TrackedFile") -> bool:
        """Take over the position of a followed file that now has this path (renamed into a followed directory),
        if this path holds the same bytes (an inode number can be reused by another file); True when it did."""
        try:
            with open(self.path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if _identity(stat) != moved.identity or stat.st_size < moved.offset:
                    return False
                self.offset, self.identity, self.head, self.tail = moved.offset, moved.identity, moved.head, moved.tail
                if not self._unchanged(handle.fileno(), moved.offset):
                    self.offset, self.identity, self.head, self.tail = 0, None, b"", b""
                    return False
        except OSError:
            return False
        return True

    def read(self, unfinished: int = 0) -> Iterator[bytes | Restart | CutBack]:
        """The new bytes in order, with a Restart before bytes that start the file over. `unfinished`: how many
        of the last bytes read belong to no complete record yet (a line without its newline)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return  # not created yet, or between a rotation's rename and the new file
        if self.settled and _identity(stat) == self.identity and (stat.st_size, stat.st_mtime_ns) == (self.offset, self.mtime_ns):
            return
        self.settled = False
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below; bytes are yielded while it is open
        except FileNotFoundError:
            return
        with handle:
            stat = os.fstat(handle.fileno())
            if self.identity is not None and _identity(stat) != self.identity:
                problem = yield from self._drain_rotated()
                self.rotated_away = TrackedFile(self.path, self.offset, self.identity, head=self.head, tail=self.tail)
                self._start_over()
                yield Restart(ROTATED, problem)
            elif self.identity is not None and self.offset > 0:
                yield from self._check_content(handle.fileno(), stat.st_size, self.offset - unfinished)
            self.identity = _identity(stat)
            self.mtime_ns = stat.st_mtime_ns
            handle.seek(self.offset)
            while chunk := handle.read(READ_CHUNK):
                self._advance(chunk)
                yield chunk
        self.settled = True

    def _check_content(self, fd: int, size: int, complete: int) -> Iterator[Restart | CutBack]:
        """Appended to (nothing to say), its unfinished record withdrawn, or truncated/rewritten."""
        if size >= self.offset and self._unchanged(fd, self.offset):
            return
        if size >= complete and self._unchanged(fd, complete):
            tail_start = self.offset - len(self.tail)
            self.head, self.tail = self.head[:complete], self.tail[: max(0, complete - tail_start)]
            self.offset = complete
            yield CutBack()
            return
        self._start_over()
        yield Restart(TRUNCATED)

    def _unchanged(self, fd: int, end: int) -> bool:
        """Do the bytes read before `end` still stand where they were read (as far as the probes tell)?"""
        head = self.head[:end]
        tail_start = self.offset - len(self.tail)
        tail = self.tail[: max(0, end - tail_start)]
        return os.pread(fd, len(head), 0) == head and (not tail or os.pread(fd, len(tail), tail_start) == tail)

    def _advance(self, chunk: bytes) -> None:
        if len(self.head) < PROBE:
            self.head += chunk[: PROBE - len(self.head)]
        self.tail = chunk[-PROBE:] if len(chunk) >= PROBE else (self.tail + chunk)[-PROBE:]
        self.offset += len(chunk)

    def _start_over(self) -> None:
        self.offset, self.head, self.tail = 0, b"", b""

    def _drain_rotated(self) -> Generator[bytes, None, str | None]:
        """The path names a new file: the old one may live on under another name; read what it still holds.
        Returns what could not be read, if anything (the new file is followed regardless)."""
        try:
            old = _find_by_identity(self.path.parent, self.identity)
            if old is None:
                return None
            with open(old, "rb") as handle:
                handle.seek(self.offset)
                while chunk := handle.read(READ_CHUNK):
                    self._advance(chunk)  # offset and probes: where reading of the renamed file ended
                    yield chunk
        except OSError as exc:
            return f"the rotated file's last records could not be read ({exc.strerror or exc})"
        return None


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _find_by_identity(directory: Path, identity: tuple[int, int] | None) -> Path | None:
    if identity is None or not directory.exists():
        return None
    for entry in os.scandir(directory):
        try:
            if entry.inode() == identity[1] and entry.is_file() and entry.stat().st_dev == identity[0]:
                return Path(entry.path)
        except OSError:
            continue
    return None
