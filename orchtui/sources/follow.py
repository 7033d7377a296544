"""Follow span files as they grow: `orchtui tail FILE|DIR|GLOB`.

Every followed file has a read position (`tracked.TrackedFile`: appends, truncation and rotation told apart by
identity and content) and a record reader (`records.RecordReader`: the unfinished last record carried until it is
whole, parsed exactly once, errors named `file:line`), so:

- appends are read from the position (never the whole file again);
- truncation, even followed at once by more bytes than before (`copytruncate` and a fast writer), restarts at
  the beginning; it is counted, not reported as a read error;
- an unfinished last record withdrawn by its writer (the spool cutting off a torn record) is read again from
  where it began, once whole: nothing already shown is read twice;
- rotation (rename + a new file at the same path) finishes the renamed file's last lines, then follows the new
  file from its start; when the renamed file shows up in a followed directory (the spool's roll-over, a log's
  `x.jsonl.1`) it goes on from where it was, never read again from its start;
- a file that does not exist yet, or a new file in a followed directory or matching a followed glob, is picked
  up when it appears;
- a file that cannot be read (permission withdrawn, an I/O error) is reported once, retried, and followed again
  from where reading stopped once it can be read.

The follower thread outlives anything a file holds: a record a parser cannot read is a read error and the records
after it still arrive; even an unexpected failure is reported and following goes on.

`watchfiles` (Rust `notify`) reports changes; its defaults wait up to 1.6 s to group events, so the debounce and
step are tuned down for a live view. A slow periodic re-check covers filesystems where events are not delivered.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parsers.result import ParseResult
from parsers.span import ReadError, Span

from .records import FRAMES, RecordReader, describe_failure
from .tracked import ROTATED, CutBack, Restart, TrackedFile

DEBOUNCE_MS = 50  # watchfiles default: 1600
STEP_MS = 10  # watchfiles default: 50
RESCAN_SECONDS = 1.0  # fallback re-check when no event arrived
TRUNCATIONS = "truncated files read again from the start"  # `skipped` counts: not read errors
WITHDRAWN = "unfinished records withdrawn by their writer"
MOVED_AWAY_KEPT = 64  # rotated files remembered, to go on from where they were if they show up under a new name

Deliver = Callable[[list[Span]], object]
Report = Callable[[list[ReadError], dict[str, int]], None]


@dataclass
class FollowedFile:
    """One followed path: where reading is, and the records being read."""

    tracked: TrackedFile
    reader: RecordReader
    history_end: int = 0  # `--from-end`: bytes before this offset were there at start; counted, not shown

    def where(self) -> str:
        """`file:line` (or `file[frame]`) of the next record."""
        reader = self.reader
        return f"{reader.name}[{reader.line - 1}]" if reader.framing == FRAMES else f"{reader.name}:{reader.line}"


class FileFollower:
    """Follows files, directories and glob patterns on a background thread, delivering span batches."""

    def __init__(self, targets: list[str], deliver: Deliver, report: Report, *, from_end: bool = False) -> None:
        self.targets = targets
        self.deliver = deliver
        self.report = report
        self.from_end = from_end
        self.files: dict[Path, FollowedFile] = {}
        self._problems: dict[tuple[str, str], str] = {}  # (what, path or target) -> the problem said last
        self._moved_away: dict[tuple[int, int], TrackedFile] = {}  # rotated files: where their reading ended
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="orchtui-follow", daemon=True)
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow on a thread of the follower's own (`open` here, `run` there)."""
        self.open()
        self._thread.start()

    def open(self) -> None:
        """Read what the files already hold (or, `from_end`, skip it)."""
        self._scan_safely(initial=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def run(self) -> None:
        """Follow on the calling thread until `stop()` (a FollowSource's thread, or the follower's own)."""
        from watchfiles import watch

        try:
            watch_dirs = sorted({str(d) for d in self._watch_dirs() if d.exists()}) or [os.getcwd()]
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
                self._scan_safely(changed={Path(path) for _, path in changes} if changes else None)
        except Exception as exc:  # noqa: BLE001 - e.g. a watched directory vanished: keep polling
            self._tell(("watch", ""), f"watching stopped ({describe_failure(exc)}); checking every {RESCAN_SECONDS:g} s instead", ", ".join(self.targets))
        while not self._stop.wait(RESCAN_SECONDS):
            self._scan_safely()

    def _scan_safely(self, **options) -> None:
        """The thread outlives any one failure; what a file holds is handled below, this is the last resort."""
        try:
            self.scan(**options)
        except Exception as exc:  # noqa: BLE001
            with contextlib.suppress(Exception):
                self.report([ReadError("orchtui tail", f"internal error while following: {describe_failure(exc)}")], {})

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
            try:
                found.extend(_files_of(target))
            except OSError as exc:
                self._tell(("list", target), f"cannot list ({exc.strerror or exc}); retrying", target)
            else:
                self._problems.pop(("list", target), None)
        return found

    def scan(self, initial: bool = False, changed: set[Path] | None = None) -> None:
        """Read whatever is new in every followed file (or only in `changed` ones, new files, and files that could
        not be read last time)."""
        with self._lock:
            for path in self._matching_files():
                followed = self.files.get(path)
                if followed is None:
                    followed = self.files[path] = self._new_file(path)
                    if initial and self.from_end:
                        followed.history_end = _size(path)
                    self._read(followed)
                elif changed is None or path in changed or _resolved(path) in changed or ("read", str(path)) in self._problems:
                    self._read(followed)

    def _new_file(self, path: Path) -> FollowedFile:
        """A path seen for the first time. In a followed directory it may be a followed file renamed by a rotation
        (a log's `x.jsonl.1`, the spool's `<base>.<n>.otlp.pb`): then it goes on from where that file was, so
        nothing is read twice; otherwise it is read from its start."""
        try:
            identity = _identity_of(os.stat(path))
        except OSError:
            identity = None
        if identity is not None:
            for old_path, followed in list(self.files.items()):
                if followed.tracked.identity == identity and not _names_identity(old_path, identity):
                    del self.files[old_path]  # renamed before the old path's own rotation was seen
                    followed.tracked.path, followed.reader.name = path, str(path)
                    return followed
            moved = self._moved_away.pop(identity, None)
            if moved is not None:
                tracked = TrackedFile(path)
                if tracked.adopt(moved):
                    return FollowedFile(tracked, RecordReader(str(path)))
        return FollowedFile(TrackedFile(path), RecordReader(str(path)))

    # -- reading ------------------------------------------------------------------------------------------------

    def _read(self, followed: FollowedFile) -> None:
        key = ("read", str(followed.tracked.path))
        try:
            for item in followed.tracked.read(unfinished=len(followed.reader.carry)):
                if isinstance(item, Restart):
                    self._restart(followed, item)
                elif isinstance(item, CutBack):
                    followed.reader.carry = b""
                    self.report([], {WITHDRAWN: 1})
                else:
                    self._consume(followed, item)
        except OSError as exc:
            self._tell(key, f"cannot read ({exc.strerror or exc}); following resumes when it can be read", followed.where())
            return
        except Exception as exc:  # noqa: BLE001 - a failure no record should cause; retried at the next change
            self._tell(key, f"reading stopped: {describe_failure(exc)}; retrying", followed.where())
            return
        self._problems.pop(key, None)

    def _restart(self, followed: FollowedFile, restart: Restart) -> None:
        if restart.problem is not None:
            self.report([ReadError(followed.where(), restart.problem)], {})
        if restart.reason == ROTATED:
            self._emit(followed, followed.reader.finish())
            moved = followed.tracked.rotated_away
            if moved is not None and moved.identity is not None:  # its new name may appear in a followed directory
                self._moved_away[moved.identity] = moved
                while len(self._moved_away) > MOVED_AWAY_KEPT:
                    self._moved_away.pop(next(iter(self._moved_away)))
        else:
            followed.reader.restart()
            self.report([], {TRUNCATIONS: 1})
        followed.history_end = 0

    def _consume(self, followed: FollowedFile, chunk: bytes) -> None:
        start = followed.tracked.offset - len(chunk)
        if followed.history_end > start:
            history = followed.history_end - start
            followed.reader.feed(chunk[:history], parse=False, offset=start)
            chunk = chunk[history:]
            start += history
        if chunk:
            self._emit(followed, followed.reader.feed(chunk, offset=start))

    def _emit(self, followed: FollowedFile, result: ParseResult) -> None:
        if result.spans:
            try:
                self.deliver(result.spans)
            except Exception as exc:  # noqa: BLE001 - spans a view cannot take cost themselves only
                result.error(followed.where(), f"{len(result.spans)} spans read before here could not be shown: {describe_failure(exc)}")
        if result.errors or result.skipped:
            self.report(result.errors, result.skipped)

    def _tell(self, key: tuple[str, str], problem: str, where: str) -> None:
        """Report a problem that persists (an unreadable file) once, not at every retry."""
        if self._problems.get(key) != problem:
            self._problems[key] = problem
            self.report([ReadError(where, problem)], {})


def _files_of(target: str) -> list[Path]:
    path = Path(target)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if any(ch in target for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(target, recursive=True) if Path(p).is_file())
    return [path]  # followed even before it exists


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _identity_of(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


def _names_identity(path: Path, identity: tuple[int, int]) -> bool:
    """Does `path` still name the file `identity` (a second name, a hard link), rather than having lost it?"""
    try:
        return _identity_of(os.stat(path)) == identity
    except OSError:
        return False


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
