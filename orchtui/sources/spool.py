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

With a cap (`--spool-max 2G`, `7d`, or both: `SpoolCap`), the spool stays bounded however long it runs:

- The file being written rolls over when it reaches a quarter of the size cap (or has been written for a quarter
  of the age cap): it is renamed `<base>.<n>.otlp.jsonl` / `<base>.<n>.otlp.pb` (n counting up) and a new file is
  begun at the same path. A follower of that path (`orchtui tail <base>.otlp.pb`) reads the renamed file to its end,
  then the new one: the same rotation as a log file's.
- A pruner thread (at start, after each roll-over, and every minute) deletes the oldest spool files until the
  rest fit the size cap, and every spool file last written longer ago than the age cap. It counts the spool files
  of this base (`family` None) or every spool file in the directory whose name begins with `family` (the default
  spools `spool-<time>` in orchtui's state directory, one per session). Never a file being written: writers hold a
  shared `flock` on their files and the pruner deletes only what it can lock exclusively (another orchtui's
  current spool is skipped too). Each deletion is said through `on_prune` and kept in `pruned`.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = 4  # bytes of a protobuf frame's length prefix
_SCAN_BLOCK = 1 << 16
JSON_SUFFIX, PROTO_SUFFIX = ".otlp.jsonl", ".otlp.pb"
DEFAULT_FAMILY = "spool-"  # the default spools' names: `spool-<time>`
ROLL_PARTS = 4  # the file being written rolls over at this fraction of the cap
PRUNE_EVERY = 60.0  # seconds between checks of the cap when nothing rolled over (an age cap expires files idle)
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_AGE_UNITS = {"s": 1, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class SpoolCap:
    """How much the spool directory may hold: bytes, age in seconds, or both."""

    max_bytes: int | None = None
    max_age: float | None = None

    def __str__(self) -> str:
        parts = []
        if self.max_bytes is not None:
            parts.append(_size(self.max_bytes))
        if self.max_age is not None:
            parts.append(_age(self.max_age))
        return " and ".join(parts)


def parse_spool_max(text: str, cap: SpoolCap | None = None) -> SpoolCap:
    """`500M`, `2G`, `1.5T`, `800K`, `1048576` (bytes; K/M/G/T are powers of 1024, `B`/`iB` optional), `7d`, `12h`,
    `2w`, `90s`, or two of them joined by a comma (`2G,7d`); added to `cap` if given. ValueError with the reason."""
    max_bytes, max_age = (cap.max_bytes, cap.max_age) if cap is not None else (None, None)
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        size = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?", part, re.IGNORECASE)
        age = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([shdw])", part)
        if size is not None:
            max_bytes = int(float(size.group(1)) * _SIZE_UNITS[size.group(2).upper()])
            if max_bytes < 1:
                raise ValueError(f"a spool cap must be at least 1 byte, got {part!r}")
        elif age is not None:
            max_age = float(age.group(1)) * _AGE_UNITS[age.group(2)]
            if max_age <= 0:
                raise ValueError(f"a spool age cap must be positive, got {part!r}")
        else:
            raise ValueError(f"expected a size (500M, 2G) or an age (7d, 12h), got {part!r}")
    if max_bytes is None and max_age is None:
        raise ValueError("expected a size (500M, 2G) or an age (7d, 12h)")
    return SpoolCap(max_bytes, max_age)


@dataclass
class _Appender:
    fd: int
    size: int  # bytes of complete records: where the next record begins
    started: float = field(default_factory=time.time)  # when this process began writing it (age roll-over)


class Spool:
    """Append-only files of everything accepted: `<base>.otlp.jsonl` for JSON, `<base>.otlp.pb` for protobuf;
    bounded by `cap` when given (see the module docstring)."""

    def __init__(
        self,
        base: Path,
        cap: SpoolCap | None = None,
        *,
        family: str | None = None,
        on_prune: Callable[[str], object] | None = None,
    ) -> None:
        self.base = base
        base.parent.mkdir(parents=True, exist_ok=True)
        self.json_path = base.with_name(base.name + JSON_SUFFIX)
        self.proto_path = base.with_name(base.name + PROTO_SUFFIX)
        self.repairs: list[str] = []  # one message per torn record cut on open
        self.cap = cap
        self.family = family
        self.on_prune = on_prune
        self.pruned: list[str] = []  # one message per pruning that deleted files (the last 100)
        self.pruned_files = 0
        self.pruned_bytes = 0
        self._appenders: dict[Path, _Appender] = {}
        self._lock = threading.Lock()
        self._write = os.write  # the one system call a record goes through (tests inject a full disk here)
        for path, framed in ((self.json_path, False), (self.proto_path, True)):
            if path.exists():
                self._repair(path, framed)
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._prune_lock = threading.Lock()
        self._pruner: threading.Thread | None = None
        if cap is not None:
            self._pruner = threading.Thread(target=self._prune_loop, name="orchtui-spool-prune", daemon=True)
            self._pruner.start()

    def write_json(self, body: bytes) -> tuple[Path, int]:
        """One JSON request as one line. JSON strings cannot hold a raw newline, so a pretty-printed body becomes
        one line without re-encoding. Returns the file and the offset the record begins at."""
        return self._append(self.json_path, False, body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\n")

    def write_proto(self, body: bytes) -> tuple[Path, int]:
        """One protobuf request as one length-prefixed frame. Returns the file and the offset the frame begins at."""
        return self._append(self.proto_path, True, len(body).to_bytes(PREFIX, "big") + body)

    def paths(self) -> list[Path]:
        """The files being written (that exist)."""
        return [p for p in (self.json_path, self.proto_path) if p.exists()]

    def segments(self) -> list[Path]:
        """This base's rolled-over files still on disk, oldest first."""
        return [self.base.parent / name for _, name in self._numbered()]

    def _numbered(self) -> list[tuple[int, str]]:
        found = []
        for name in _names(self.base.parent):
            match = re.fullmatch(re.escape(self.base.name) + r"\.(\d+)\.otlp\.(?:jsonl|pb)", name)
            if match:
                found.append((int(match.group(1)), name))
        return sorted(found)

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._pruner is not None and self._pruner is not threading.current_thread():
            self._pruner.join(timeout=5)
        with self._lock:
            for appender in self._appenders.values():
                os.close(appender.fd)
            self._appenders.clear()

    # -- the cap --------------------------------------------------------------------------------------------------

    def prune(self) -> str | None:
        """Delete what the cap does not allow (never a file being written); the message said, or None."""
        if self.cap is None:
            return None
        with self._prune_lock:
            return self._prune(self.cap)

    def _prune(self, cap: SpoolCap) -> str | None:
        now = time.time()
        directory = self.base.parent
        current = {self.json_path.name, self.proto_path.name}
        files = []  # (mtime, name, size) of every spool file the cap counts
        for name in _names(directory):
            if not self._counted(name):
                continue
            try:
                info = os.stat(directory / name)
            except OSError:
                continue
            files.append((info.st_mtime, name, info.st_size))
        total = sum(size for _, _, size in files)
        deleted = []
        for mtime, name, size in sorted(files, key=_age_order):  # oldest first
            if name in current:
                continue
            too_old = cap.max_age is not None and now - mtime > cap.max_age
            too_big = cap.max_bytes is not None and total > cap.max_bytes
            if (too_old or too_big) and _delete_unless_in_use(directory / name):
                deleted.append((name, size))
                total -= size
        if not deleted:
            return None
        freed = sum(size for _, size in deleted)
        shown = ", ".join(name for name, _ in deleted[:3]) + (f" and {len(deleted) - 3} more" if len(deleted) > 3 else "")
        count = f"{len(deleted)} oldest spool file{'s' if len(deleted) != 1 else ''}"
        message = f"spool cap {cap}: deleted {count} ({_size(freed)}) from {directory}: {shown}"
        self.pruned_files += len(deleted)
        self.pruned_bytes += freed
        self.pruned = (self.pruned + [message])[-100:]
        if self.on_prune is not None:
            try:
                self.on_prune(message)
            except Exception:  # noqa: BLE001 - telling must never stop pruning (or writing)
                pass
        return message

    def _counted(self, name: str) -> bool:
        """Is `name` a spool file the cap counts: this base's (family None) or the family's."""
        if not name.endswith((JSON_SUFFIX, PROTO_SUFFIX)):
            return False
        if self.family is not None:
            return name.startswith(self.family)
        return re.fullmatch(re.escape(self.base.name) + r"(?:\.\d+)?\.otlp\.(?:jsonl|pb)", name) is not None

    def _prune_loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.prune()
            except Exception as exc:  # noqa: BLE001 - the pruner outlives a listing or stat that fails
                self.pruned = (self.pruned + [f"spool cap: pruning failed: {type(exc).__name__}: {exc}"])[-100:]
            self._wake.wait(PRUNE_EVERY)
            self._wake.clear()

    def _due(self, appender: _Appender, incoming: int) -> bool:
        """Should the file being written roll over before `incoming` more bytes?"""
        cap = self.cap
        if cap is None or appender.size == 0:
            return False
        if cap.max_bytes is not None and appender.size + incoming > cap.max_bytes / ROLL_PARTS:
            return True
        return cap.max_age is not None and time.time() - appender.started > cap.max_age / ROLL_PARTS

    def _roll_over(self, path: Path, appender: _Appender) -> bool:
        """Close the file being written and rename it to the next `<base>.<n>` segment; the next record begins a
        new file. False (appending goes on to the same file) when the rename fails."""
        os.close(appender.fd)
        del self._appenders[path]
        suffix = JSON_SUFFIX if path == self.json_path else PROTO_SUFFIX
        number = max((number for number, _ in self._numbered()), default=0) + 1
        target = path.with_name(f"{self.base.name}.{number}{suffix}")
        try:
            os.rename(path, target)
        except OSError as exc:
            self.pruned = (self.pruned + [f"spool cap: cannot roll {path.name} over: {exc.strerror or exc}"])[-100:]
            return False
        return True

    # -- internals ------------------------------------------------------------------------------------------------

    def _append(self, path: Path, framed: bool, record: bytes) -> tuple[Path, int]:
        rolled = False
        with self._lock:
            appender = self._appenders.get(path)
            if appender is not None and self._due(appender, len(record)):
                rolled = self._roll_over(path, appender)
                appender = None
            if appender is None:
                appender = self._appenders[path] = self._open(path, framed)
            view = memoryview(record)
            offset = appender.size
            try:
                while view:
                    view = view[self._write(appender.fd, view) :]
            except OSError:
                self._cut_back(path, appender)
                raise
            appender.size += len(record)
        if rolled:
            self._wake.set()  # the pruner looks at once
        return path, offset

    def _open(self, path: Path, framed: bool) -> _Appender:
        """An appender holding a shared lock on the file (a pruner, this one or another orchtui's, never deletes
        it); if a pruner deleted the file between the open and the lock, the file is opened again."""
        for _ in range(5):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                if not _same_file(fd, path):
                    os.close(fd)
                    continue
                size = self._repair(path, framed, fd)
            except BaseException:
                os.close(fd)
                raise
            return _Appender(fd, size)
        raise OSError(f"{path} keeps being deleted while it is opened")

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


def _age_order(file: tuple[float, str, int]) -> tuple:
    """Oldest first: by time last written, then (written in the same instant) a base's numbered segments in
    their order before the file it rolled over from."""
    mtime, name, _ = file
    match = re.fullmatch(r"(.*?)(?:\.(\d+))?\.otlp\.(?:jsonl|pb)", name)
    base, number = (match.group(1), int(match.group(2)) if match.group(2) else float("inf")) if match else (name, 0)
    return mtime, base, number


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _delete_unless_in_use(path: Path) -> bool:
    """Delete `path` unless a writer holds it (its shared lock makes the exclusive one fail)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _same_file(fd, path):
            return False
        os.unlink(path)
        return True
    except OSError:  # BlockingIOError: being written; or it vanished, or cannot be deleted
        return False
    finally:
        os.close(fd)


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" or count == int(count) else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"


def _age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds // length:g} {unit}"
    return f"{seconds:g} s"


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
    from ..dirs import state_dir

    return state_dir() / time.strftime(f"{DEFAULT_FAMILY}%Y%m%d-%H%M%S")
