"""A file read on two cores (orchtui/split_load.py) reads exactly as one process reading it whole: the same
traces, analyses, read errors with their line numbers, and payloads back from the file; a child that fails costs
time, not data."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import time
from pathlib import Path

import orjson
import pytest

import orchtui.split_load as split_load
from orchtui.analysing_sink import AnalysingSink
from orchtui.cli import _load
from orchtui.report import check_document
from orchtui.store import SpanStore
from parsers import gzip_seek, payloads
from parsers.read import streamable_format
from tests.golden import ROOT, fixtures
from tests.orchtui.test_analysing_sink import interleaved_lines

STREAMED = [f for f in fixtures() if streamable_format(ROOT / f) is not None]


@pytest.fixture(autouse=True)
def _split_every_file(monkeypatch):
    """Split files of any size, and count the splits: a test that did not split proves nothing."""
    monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", 0)
    monkeypatch.delenv(split_load.JOBS_ENV, raising=False)
    monkeypatch.setattr(split_load.os, "sched_getaffinity", lambda pid: {0, 1})
    # Threads other tests left idle here (receivers, pollers) would make `check` refuse to fork; they hold no lock
    # the child takes. That it refuses with a live thread is tested on its own, below.
    monkeypatch.setattr(split_load.threading, "active_count", lambda: 1)
    calls = []
    real = split_load.read_in_two

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr("orchtui.sources.files.read_in_two", counting)
    payloads.forget()
    split_load.fallbacks.clear()
    yield calls
    payloads.forget()
    # Reading the child's part again gives the same result, so only this shows a child that failed on a bug.
    assert split_load.fallbacks == [], "a worker fell back to reading its part here"


def loaded(path: Path, jobs: str, monkeypatch) -> tuple[dict, list, list, list]:
    """The check document, the read errors, the payloads of every span and every tool call's arguments and
    result, as `check` loads `path`."""
    monkeypatch.setenv(split_load.JOBS_ENV, jobs)
    store, _, analyses = _load([str(path)])
    spans = sorted((span for analysis in analyses for span in analysis.tree.ordered), key=lambda s: (s.trace_id, s.span_id))
    seen = [(span.trace_id, span.span_id, span.source.line if span.source else None, span.attributes, span.output) for span in spans]
    # Tool calls read their arguments and results from their spans when asked: also those the child analysed.
    calls = sorted((a.trace_id, [(c.name, c.span_id, repr(c.args), repr(c.result)) for c in a.tool_calls]) for a in analyses)
    return check_document(analyses, store.errors), [(e.source, e.message) for e in store.errors], seen, calls


def assert_same_in_two(path: Path, calls: list, monkeypatch) -> None:
    one = loaded(path, "1", monkeypatch)
    assert calls == []
    two = loaded(path, "2", monkeypatch)
    assert calls == [path]
    assert two == one


@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_every_streamed_fixture_reads_the_same_in_two_processes(fixture, _split_every_file, monkeypatch):
    assert_same_in_two(ROOT / fixture, _split_every_file, monkeypatch)


def evaluated(path: Path, jobs: str, monkeypatch) -> tuple[int, str, list[str]]:
    """`eval --json` on `path`, and the traces the evaluators ran on in this process (not the worker)."""
    from orchtui.evaluating import EvaluateAsAnalysed
    from tests.orchtui.test_cli_check import run

    here, parent = [], os.getpid()
    real = EvaluateAsAnalysed.__init__

    def spy(self, evaluate, wanted=None, sweep=False):
        def noting(analysis):
            if os.getpid() == parent:
                here.append(analysis.trace_id)
            return evaluate(analysis)

        real(self, noting, wanted, sweep)

    monkeypatch.setattr(EvaluateAsAnalysed, "__init__", spy)
    monkeypatch.setenv(split_load.JOBS_ENV, jobs)
    code, out, err = run("eval", "--json", str(path))
    assert code in (0, 1), err
    return code, out, here


@pytest.mark.parametrize("fixture", ["tests/data/langgraph/langgraph-openinference.otlp.jsonl", "interleaved"])
def test_eval_in_two_processes_evaluates_on_both_and_prints_the_same(fixture, tmp_path, _split_every_file, monkeypatch):
    """The worker evaluates its traces and hands the evaluations over with them: the parent evaluates only its
    own part and the traces cut in two (analysed again here with all their spans)."""
    path = write_interleaved(tmp_path) if fixture == "interleaved" else ROOT / fixture
    code_one, out_one, here_one = evaluated(path, "1", monkeypatch)
    code_two, out_two, here_two = evaluated(path, "2", monkeypatch)
    assert _split_every_file == [path]
    assert (code_two, out_two) == (code_one, out_one)
    traces = {result["trace_id"] for result in json.loads(out_one)["results"]}
    assert set(here_one) == traces
    if fixture != "interleaved":  # whole traces on each side: the worker's are not evaluated again here
        assert len(set(here_two)) < len(traces)


def write_interleaved(tmp_path: Path) -> Path:
    """The demo's traces one span a line, interleaved: nearly every trace has spans on both sides of the cut."""
    path = tmp_path / "interleaved.jsonl"
    path.write_bytes(interleaved_lines())
    return path


def test_traces_cut_in_two_are_merged_and_analysed_with_all_their_spans(tmp_path, _split_every_file, monkeypatch):
    assert_same_in_two(write_interleaved(tmp_path), _split_every_file, monkeypatch)


def test_bad_lines_duplicates_and_late_spans_across_the_cut(tmp_path, _split_every_file, monkeypatch):
    lines = interleaved_lines().splitlines()
    first, last = lines[: len(lines) // 3], lines[len(lines) // 3 :]
    repeated = lines[5]  # a span sent twice: once in each part, the later copy wins and is counted
    damaged = [b'{"resourceSpans": [', b"not json", b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 7}]}]}]}']
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\n".join([*first, *damaged[:1], *last, repeated, *damaged[1:], lines[0]]) + b"\n")
    assert_same_in_two(path, _split_every_file, monkeypatch)
    _, errors, _, _ = loaded(path, "2", monkeypatch)
    assert len(errors) >= 3 and all(source.startswith(str(path)) for source, _ in errors)


def test_a_child_that_fails_costs_time_not_data(tmp_path, _split_every_file, monkeypatch):
    path = write_interleaved(tmp_path)
    expected = loaded(path, "1", monkeypatch)
    monkeypatch.setattr(split_load, "_child", lambda *args: os._exit(70))
    assert loaded(path, "2", monkeypatch) == expected
    assert _split_every_file == [path]
    assert split_load.fallbacks == ["the worker ended with wait status 17920 before its last word"]  # exit 70
    split_load.fallbacks.clear()


def test_a_child_that_raises_says_why_and_its_part_is_read_here(tmp_path, _split_every_file, monkeypatch):
    path = write_interleaved(tmp_path)
    expected = loaded(path, "1", monkeypatch)

    def broken(self, spans):
        raise ZeroDivisionError("a bug in the worker")

    monkeypatch.setattr(split_load._HandingSink, "add", broken)
    assert loaded(path, "2", monkeypatch) == expected
    assert split_load.fallbacks == ["the worker failed: ZeroDivisionError: a bug in the worker"]
    split_load.fallbacks.clear()


def test_a_child_that_stops_before_its_last_word_is_not_believed(tmp_path, _split_every_file, monkeypatch):
    path = write_interleaved(tmp_path)
    expected = loaded(path, "1", monkeypatch)
    monkeypatch.setattr(split_load, "BATCH_SPANS", 1)  # some traces are sent, then it exits cleanly, errors unsent
    monkeypatch.setattr(split_load._HandingSink, "finish", lambda self, format_name: os._exit(0))
    assert loaded(path, "2", monkeypatch) == expected
    assert _split_every_file == [path]
    assert split_load.fallbacks == ["the worker ended with wait status 0 before its last word"]
    split_load.fallbacks.clear()


def test_one_job_or_a_small_file_reads_in_one_process(tmp_path, _split_every_file, monkeypatch):
    path = write_interleaved(tmp_path)
    loaded(path, "1", monkeypatch)
    monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", path.stat().st_size + 1)
    loaded(path, "2", monkeypatch)
    assert _split_every_file == []


def test_no_fork_while_another_thread_runs_or_off_linux(tmp_path, monkeypatch):
    path = write_interleaved(tmp_path)
    assert split_load.can_split(path, path.stat().st_size) == "otlp-json"
    monkeypatch.setattr(split_load.threading, "active_count", lambda: 2)
    assert split_load.can_split(path, path.stat().st_size) is None
    monkeypatch.setattr(split_load.threading, "active_count", lambda: 1)
    monkeypatch.setattr(split_load.sys, "platform", "darwin")
    assert split_load.can_split(path, path.stat().st_size) is None


def test_adopted_spans_read_their_payload_back_from_the_file(tmp_path, _split_every_file, monkeypatch):
    path = tmp_path / "requests.jsonl"
    shutil.copy(write_interleaved(tmp_path), path)
    monkeypatch.setenv(split_load.JOBS_ENV, "2")
    _, _, analyses = _load([str(path)])
    spans = [span for analysis in analyses for span in analysis.tree.ordered]
    assert _split_every_file == [path] and all(span.payload_evicted for span in spans)
    by_line = {}
    for line_number, line in enumerate(path.read_bytes().splitlines(), 1):
        for resource in orjson.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for raw in scope["spans"]:
                    by_line[raw["spanId"]] = line_number
    assert {span.span_id: span.source.line for span in spans} == by_line
    assert all(isinstance(span.attributes, dict) and span.attributes for span in spans)
    assert payloads.stats.lost == 0


def test_the_cut_is_at_a_line_start(tmp_path):
    path = write_interleaved(tmp_path)
    data = path.read_bytes()
    for offset in (1, len(data) // 2, len(data) - 1):
        cut = split_load.line_start_after(path, offset)
        assert data[cut - 1 : cut] == b"\n"


@pytest.mark.slow
def test_the_command_prints_the_same_bytes_and_status_in_two_processes(tmp_path):
    """The real commands on a file past the size where they fork: same output, same exit status, nothing of the
    child's on stdout (`eval`: the worker's evaluations handed over with its traces)."""
    import subprocess
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from ingest import generate

    path = tmp_path / "big.jsonl"
    generate(path, 25_000)
    assert path.stat().st_size >= split_load.SPLIT_MIN_BYTES
    runs = {}
    for command in ("check", "eval"):
        for jobs in ("1", "2"):
            env = {**os.environ, split_load.JOBS_ENV: jobs, "XDG_CACHE_HOME": str(tmp_path / "cache")}
            argv = [sys.executable, "-m", "orchtui", command, "--json", str(path)]
            done = subprocess.run(argv, capture_output=True, env=env, check=False)
            runs[command, jobs] = (done.returncode, done.stdout, done.stderr)
        assert runs[command, "2"] == runs[command, "1"]
    assert runs["check", "1"][0] == 0 and len(orjson.loads(runs["check", "1"][1])["traces"]) > 1000
    assert runs["eval", "1"][0] in (0, 1) and len(orjson.loads(runs["eval", "1"][1])["results"]) > 9000


def test_progress_counts_both_processes_and_reaches_the_whole_file_only_when_adopted(tmp_path, monkeypatch):
    """A viewer's percentage moves through the child's part too (its bytes come with each batch), never goes back,
    and says 100% only once the child's traces are in the sink."""
    path = write_interleaved(tmp_path)
    size = path.stat().st_size
    monkeypatch.setattr(split_load, "BATCH_SPANS", 1)
    worker = split_load.start_worker(path, "otlp-json", size)
    sink = AnalysingSink(SpanStore())
    seen: list[tuple[int, int]] = []  # (bytes said, spans in the sink then)

    def progress(result, consumed):
        seen.append((consumed, sink.store.span_count))
        if result is not None:
            sink.add(result.spans)
            sink.add_errors(result.errors, result.skipped)

    adopted = split_load.read_in_two(path, size, sink, progress, worker, lambda: False)
    said = [consumed for consumed, _ in seen]
    assert adopted > 0 and said == sorted(said)
    assert said[-1] == size and said[-2] == size - 1  # the child's whole part counted before it was adopted
    assert seen[-2][1] < sink.store.span_count == len(path.read_bytes().splitlines())  # ...and 100% waited for them


def test_a_stop_while_waiting_for_the_child_kills_it(tmp_path, monkeypatch):
    path = write_interleaved(tmp_path)
    size = path.stat().st_size
    monkeypatch.setattr(split_load, "_child", lambda *args: (time.sleep(60), os._exit(0)))
    worker = split_load.start_worker(path, "otlp-json", size)
    sink = AnalysingSink(SpanStore())
    stop = {"now": False}

    def progress(result, consumed):
        if result is None:  # this process has read its part and waits for the child
            stop["now"] = True
        else:
            sink.add(result.spans)

    started = time.monotonic()
    assert split_load.read_in_two(path, size, sink, progress, worker, lambda: stop["now"]) == 0
    assert time.monotonic() - started < 30  # not the child's minute
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, os.WNOHANG)  # killed and reaped


def test_evaluators_run_here_on_the_childs_traces_read_what_one_process_reads(_split_every_file, monkeypatch):
    """As the app's `e` does on a trace the worker read: tool calls read their arguments and results from their
    spans. Their marker for "read it from the span" once came back from the pickle as another object, so the
    evaluators saw `<object object at …>` (or raised) for every tool call of the file's second part."""
    from orchtui.evaluation import eval_document, evaluate_trace

    path = ROOT / "tests/data/langgraph/langgraph-openinference.otlp.jsonl"
    documents = []
    for jobs in ("1", "2"):
        monkeypatch.setenv(split_load.JOBS_ENV, jobs)
        store, _, analyses = _load([str(path)])
        documents.append(eval_document([evaluate_trace(analysis) for analysis in analyses], store.errors))
    assert _split_every_file == [path]
    assert documents[1] == documents[0] and "object at" not in json.dumps(documents[0])


def test_the_pipe_holds_several_batches_so_the_child_does_not_wait_for_the_gil_here(tmp_path):
    """The thread that drains the pipe runs only when this process's reading lets go of the GIL: with Linux's
    default 64 KiB buffer the child stalled on full writes for a quarter of its time."""
    import fcntl

    path = write_interleaved(tmp_path)
    read_end, write_end = os.pipe()  # what the kernel grants this user now (less over the pipe quota)
    try:
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, split_load.PIPE_BYTES)
        grantable = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(read_end)
        os.close(write_end)
    worker = split_load.start_worker(path, "otlp-json", path.stat().st_size)
    try:
        assert fcntl.fcntl(worker.read_end, fcntl.F_GETPIPE_SZ) == grantable
    finally:
        split_load.stop_worker(worker)
    assert split_load.PIPE_BYTES >= 16 * (64 << 10)  # asked for: sixteen times Linux's default


def test_a_pipe_size_refused_leaves_the_default_buffer_and_the_same_result(tmp_path, _split_every_file, monkeypatch):
    """A user over their pipe quota is refused a bigger buffer (EPERM): the read is slower, not different."""
    import fcntl

    real = fcntl.fcntl

    def refusing(fd, command, *args):
        if command == fcntl.F_SETPIPE_SZ:
            raise PermissionError(1, "Operation not permitted")
        return real(fd, command, *args)

    monkeypatch.setattr(fcntl, "fcntl", refusing)
    assert_same_in_two(write_interleaved(tmp_path), _split_every_file, monkeypatch)


def test_the_child_sends_batches_of_about_batch_spans_spans(tmp_path, monkeypatch):
    """Batches are counted in spans, not traces: a batch of 256 traces of 500 spans each would have been 25 MB, a
    pickler's memo as big, and twenty-five times the pipe."""
    import io
    import pickle

    path = write_interleaved(tmp_path)
    monkeypatch.setattr(split_load, "BATCH_SPANS", 10)
    pipe = io.BytesIO()
    sink = split_load._HandingSink(pipe)  # the child's sink, here in this process
    for result, _ in split_load.iter_read_range(path, "otlp-json", 0, path.stat().st_size):
        sink.add(result.spans)
    sink.finish("otlp-json")
    pipe.seek(0)
    batches = []
    while not isinstance(batch := pickle.load(pipe), split_load.ParseResult):  # written just above
        batches.append([len(trace.spans) for trace in batch[1]])
    assert len(batches) > 2 and sum(map(sum, batches)) == len(path.read_bytes().splitlines())
    for sizes in batches[:-1]:  # each full batch: past the limit by less than its last trace; the last, what was left
        assert sum(sizes[:-1]) < 10 <= sum(sizes)


@pytest.fixture
def _small_gzip_blocks(monkeypatch):
    """Input fed 256 bytes at a time and let out 300 at a time, seek points every 512 bytes: the compressed
    offset where the processes cut a fixture's text falls inside it, not at its end."""
    monkeypatch.setattr(gzip_seek, "BLOCK", 256)
    monkeypatch.setattr(gzip_seek, "PIECE", 300)
    monkeypatch.setattr(gzip_seek, "SPACING", 512)


def gzipped(source: Path, tmp_path: Path, members: int = 1) -> Path:
    """`source` gzipped as `members` concatenated members cut at line ends (what rotation and appenders make)."""
    lines = source.read_bytes().splitlines(keepends=True)
    size = max(1, len(lines) // members)
    path = tmp_path / f"{source.name}.gz"
    path.write_bytes(b"".join(gzip.compress(b"".join(lines[i : i + size])) for i in range(0, len(lines), size)))
    return path


@pytest.mark.parametrize("members", [1, 3], ids=["one member", "three members"])
@pytest.mark.parametrize("fixture", STREAMED, ids=str)
def test_every_streamed_fixture_gzipped_reads_the_same_in_two_processes(
    fixture, members, tmp_path, _split_every_file, _small_gzip_blocks, monkeypatch
):
    """Each process decompresses the whole file and parses its side of a cut both find alone; this process then
    reads back the other's payloads through seek points it made for the whole file."""
    assert_same_in_two(gzipped(ROOT / fixture, tmp_path, members), _split_every_file, monkeypatch)


def test_a_gzip_file_cut_in_two_has_spans_on_both_sides(tmp_path, _split_every_file, _small_gzip_blocks, monkeypatch):
    """The comparison above proves something only if the child read part of the file."""
    path = gzipped(write_interleaved(tmp_path), tmp_path)
    size = path.stat().st_size
    worker = split_load.start_worker(path, "otlp-json", size)
    assert worker.compressed
    sink = AnalysingSink(SpanStore())
    here: list[int] = []

    def progress(result, consumed):
        if result is not None:
            here.append(len(result.spans))
            sink.add(result.spans)
            sink.add_errors(result.errors, result.skipped)

    adopted = split_load.read_in_two(path, size, sink, progress, worker, lambda: False)
    assert adopted > 0 and sum(here) > 0
    assert sink.store.span_count == len(gzip.decompress(path.read_bytes()).splitlines())


@pytest.mark.parametrize("where", [0.3, 0.8], ids=["cut before the split", "cut after the split"])
def test_a_truncated_gzip_file_reports_the_same_in_two_processes(where, tmp_path, _split_every_file, _small_gzip_blocks, monkeypatch):
    whole = gzipped(write_interleaved(tmp_path), tmp_path).read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: int(len(whole) * where)])
    assert_same_in_two(path, _split_every_file, monkeypatch)
    _, errors, _, _ = loaded(path, "2", monkeypatch)
    assert [message for _, message in errors if "gzip stream" in message] == [
        "gzip stream is truncated or corrupt (Compressed file ended before the end-of-stream marker was reached); read what decompressed"
    ]


def test_a_gzip_childs_failure_costs_time_not_data(tmp_path, _split_every_file, _small_gzip_blocks, monkeypatch):
    path = gzipped(write_interleaved(tmp_path), tmp_path)
    expected = loaded(path, "1", monkeypatch)
    monkeypatch.setattr(split_load, "_child", lambda *args: os._exit(70))
    assert loaded(path, "2", monkeypatch) == expected
    assert split_load.fallbacks == ["the worker ended with wait status 17920 before its last word"]
    split_load.fallbacks.clear()


def test_a_gzip_file_splits_by_the_size_of_its_text(tmp_path, monkeypatch):
    """A gzip file is judged by the text its trailer says it holds, not by its compressed size; a whole-document
    format inside (read whole by its parser) is never split."""
    monkeypatch.setattr(split_load.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(split_load.threading, "active_count", lambda: 1)
    monkeypatch.delenv(split_load.JOBS_ENV, raising=False)
    path = gzipped(write_interleaved(tmp_path), tmp_path)
    text = len(gzip.decompress(path.read_bytes()))
    monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", text)
    assert path.stat().st_size < text and split_load.can_split(path, path.stat().st_size) == "otlp-json"
    monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", text + 1)
    assert split_load.can_split(path, path.stat().st_size) is None
    monkeypatch.setattr(split_load, "SPLIT_MIN_BYTES", 0)
    langsmith = next(ROOT / f for f in fixtures() if streamable_format(ROOT / f) is None and str(f).endswith(".jsonl"))
    assert split_load.can_split(gzipped(langsmith, tmp_path), 1 << 30) is None
    tiny = tmp_path / "tiny.gz"
    tiny.write_bytes(b"\x1f\x8b")
    assert split_load.can_split(tiny, 2) is None
