"""Follow span files as they grow: `orchtui tail FILE|DIR|GLOB`.

Every followed file keeps its own position: the byte offset read so far, the partial last line carried until its
newline arrives (parsed exactly once, never lost), the line number for error reports, and the inode, so:

- appends are read from the offset (never the whole file again);
- truncation (`copytruncate`: the size drops below the offset) restarts at the beginning;
- rotation (rename + a new file at the same path: the inode changes) finishes the renamed file's last lines,
  then follows the new file from its start;
- a file that does not exist yet, or a new file in a followed directory or matching a followed glob, is picked
  up when it appears.

`watchfiles` (Rust `notify`) reports changes; its defaults wait up to 1.6 s to group events, so the debounce and
step are tuned down for a live view. A slow periodic re-check covers filesystems where events are not delivered.
Line-oriented formats are followed line by line; the collector's length-prefixed protobuf (what `orchtui serve`
spools for protobuf exporters) is followed frame by frame, a partial frame waiting like a partial line.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from parsers.jsonl import parse_lines
from parsers.read import parser_for
from parsers.result import ParseResult
from parsers.sniff import OTLP_PROTO, classify_record, is_protobuf
from parsers.span import ReadError, Source, Span

READ_CHUNK = 1 << 20
DEBOUNCE_MS = 50  # watchfiles default: 1600
STEP_MS = 10  # watchfiles default: 50
RESCAN_SECONDS = 1.0  # fallback re-check when no event arrived

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]


@dataclass
class FollowedFile:
    """What has been read of one file."""

    path: Path
    offset: int = 0
    line: int = 1  # number of the next line to be completed
    carry: bytes = b""
    inode: int | None = None
    format: str | None = None


class FileFollower:
    """Follows files, directories and glob patterns on a background thread, delivering span batches."""

    def __init__(self, targets: list[str], deliver: Deliver, report: Report, *, from_end: bool = False) -> None:
        self.targets = targets
        self.deliver = deliver
        self.report = report
        self.from_end = from_end
        self.files: dict[Path, FollowedFile] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orchtui-follow", daemon=True)
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.scan(initial=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        from watchfiles import watch

        watch_dirs = sorted({str(d) for d in self._watch_dirs() if d.exists()})
        if not watch_dirs:
            watch_dirs = [os.getcwd()]
        while not self._stop.is_set():
            try:
                for changes in watch(
                    *watch_dirs,
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=self._stop,
                    rust_timeout=int(RESCAN_SECONDS * 1000),
                    yield_on_timeout=True,
                    recursive=True,
                    ignore_permission_denied=True,
                ):
                    self.scan(changed={Path(path) for _, path in changes} if changes else None)
            except (OSError, RuntimeError) as exc:  # a watched directory vanished: keep polling
                self.report([ReadError(", ".join(watch_dirs), f"watching stopped ({exc}); polling instead")], {})
                while not self._stop.wait(RESCAN_SECONDS):
                    self.scan()

    # -- discovery ----------------------------------------------------------------------------------------------

    def _watch_dirs(self) -> set[Path]:
        dirs = set()
        for target in self.targets:
            path = Path(target)
            if path.is_dir():
                dirs.add(path)
            elif any(ch in target for ch in "*?["):
                dirs.add(Path(_glob_root(target)))
            else:
                dirs.add(path.parent if str(path.parent) else Path("."))
        return dirs

    def _matching_files(self) -> list[Path]:
        found: list[Path] = []
        for target in self.targets:
            path = Path(target)
            if path.is_dir():
                found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
            elif any(ch in target for ch in "*?["):
                found.extend(sorted(Path(p) for p in glob.glob(target, recursive=True) if Path(p).is_file()))
            else:
                found.append(path)  # followed even before it exists
        return found

    def scan(self, initial: bool = False, changed: set[Path] | None = None) -> None:
        """Read whatever is new in every followed file (or only in `changed` ones, plus new files)."""
        with self._lock:
            for path in self._matching_files():
                followed = self.files.get(path)
                if followed is None:
                    followed = self.files[path] = FollowedFile(path)
                    if initial and self.from_end and path.exists():
                        self._skip_to_end(followed)
                    self._read(followed)
                elif changed is None or path in changed or _resolved(path) in changed:
                    self._read(followed)

    # -- reading ------------------------------------------------------------------------------------------------

    def _skip_to_end(self, followed: FollowedFile) -> None:
        stat = followed.path.stat()
        followed.inode = stat.st_ino
        followed.offset = stat.st_size
        with open(followed.path, "rb") as handle:
            followed.line += handle.read().count(b"\n")

    def _read(self, followed: FollowedFile) -> None:
        try:
            stat = followed.path.stat()
        except FileNotFoundError:
            return  # not created yet, or between a rotation's rename and the new file
        if followed.inode is not None and stat.st_ino != followed.inode:
            self._drain_rotated(followed)
            followed.offset, followed.line, followed.carry = 0, 1, b""
        elif stat.st_size < followed.offset:
            name = str(followed.path)
            self.report([ReadError(name, f"file was truncated ({stat.st_size} < {followed.offset} bytes read); reading from the start")], {})
            followed.offset, followed.line, followed.carry = 0, 1, b""
        followed.inode = stat.st_ino
        if stat.st_size == followed.offset:
            return
        with open(followed.path, "rb") as handle:
            handle.seek(followed.offset)
            while chunk := handle.read(READ_CHUNK):
                followed.offset += len(chunk)
                self._consume(followed, chunk)

    def _drain_rotated(self, followed: FollowedFile) -> None:
        """The path now names a new file: the old one may live on under its new name; finish its last lines."""
        old = _find_by_inode(followed.path.parent, followed.inode)
        if old is None:
            return
        with open(old, "rb") as handle:
            handle.seek(followed.offset)
            rest = handle.read()
        if rest:
            self._consume(followed, rest)
        if followed.carry.strip():  # the rotated file ended without a newline: its last line is complete
            self._consume(followed, b"\n")

    def _consume(self, followed: FollowedFile, data: bytes) -> None:
        if followed.format is None and not followed.carry and is_protobuf(data):
            followed.format = OTLP_PROTO
        if followed.format == OTLP_PROTO:
            self._consume_frames(followed, data)
            return
        buffer = followed.carry + data
        cut = buffer.rfind(b"\n") + 1
        complete, followed.carry = buffer[:cut], buffer[cut:]
        if not complete:
            return
        if followed.format is None:
            followed.format = _format_of(complete)
            if followed.format is None:
                name = str(followed.path)
                self.report([ReadError(f"{name}:{followed.line}", "cannot follow: not a line-oriented trace format")], {})
        result = ParseResult(format=followed.format)
        if followed.format is not None:
            parse_lines(complete, str(followed.path), parser_for(followed.format).parse_record, result, first_line=followed.line)
        followed.line += complete.count(b"\n")
        if result.spans:
            self.deliver(result.spans)
        if result.errors or result.skipped:
            self.report(result.errors, result.skipped)


    def _consume_frames(self, followed: FollowedFile, data: bytes) -> None:
        """Length-prefixed protobuf: `line` counts frames here, so errors name `file[frame]`."""
        from parsers.otlp_proto import parse_message

        buffer = followed.carry + data
        result = ParseResult(format=OTLP_PROTO)
        position = 0
        while len(buffer) - position >= 4:
            length = int.from_bytes(buffer[position : position + 4], "big")
            if len(buffer) - position - 4 < length:
                break
            body = buffer[position + 4 : position + 4 + length]
            frame = followed.line - 1
            parse_message(body, Source(str(followed.path), index=frame), f"message {frame}: ", result)
            followed.line += 1
            position += 4 + length
        followed.carry = buffer[position:]
        if result.spans:
            self.deliver(result.spans)
        if result.errors:
            self.report(result.errors, {})


def _format_of(lines: bytes) -> str | None:
    for line in lines.split(b"\n"):
        if line.strip():
            try:
                return classify_record(orjson.loads(line))
            except orjson.JSONDecodeError:
                return None
    return None


def _glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    root = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        root.append(part)
    return str(Path(*root)) if root else "."


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _find_by_inode(directory: Path, inode: int | None) -> Path | None:
    if inode is None or not directory.exists():
        return None
    for entry in os.scandir(directory):
        try:
            if entry.inode() == inode and entry.is_file():
                return Path(entry.path)
        except OSError:
            continue
    return None
