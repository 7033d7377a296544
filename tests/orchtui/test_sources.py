"""Sources as one interface (orchtui/sources/base.py): what names become, the once-mode driver, a failing source,
and stop() ending every thread. The app running a mix of them: tests/tui/test_app_sources.py."""

from __future__ import annotations

import threading
import time

import orjson

from orchtui.demo import DemoSource, demo_requests
from orchtui.loading import load_paths, load_sources
from orchtui.sources.base import DONE, FAILED, FOLLOW, ONCE, STARTING, STOPPED, Source
from orchtui.sources.factory import sources_for
from orchtui.sources.files import FileSource, FollowSource
from orchtui.sources.receiver import ReceiverSource
from orchtui.sources.stores import StoreSource
from orchtui.store import SpanStore
from tests.orchtui.remote_http import free_port

START_NS = 1_764_000_000_000_000_000


class Broken(Source):
    """A source whose code fails half-way (a bug, not bad data): after one batch."""

    kind = "broken"

    def __init__(self, spans, mode: str = ONCE) -> None:
        super().__init__("broken://source")
        self.mode = mode
        self.spans = spans

    def run(self, sink) -> None:
        sink.add(self.spans)
        raise RuntimeError("the \x1b[31mparser\x1b[0m fell over")


def write_requests(path, requests) -> None:
    path.write_bytes(b"".join(orjson.dumps(request) + b"\n" for request in requests))


def test_names_and_options_become_sources_in_the_order_named():
    url = "jaeger://user:secret@127.0.0.1:16686?service=s&token=t"
    once = sources_for(["a.jsonl", url, "dir/", "b-*.jsonl"])
    assert [type(s) for s in once] == [FileSource, StoreSource]
    assert once[0].names == ["a.jsonl", "dir/", "b-*.jsonl"] and all(s.mode == ONCE for s in once)
    assert once[1].label == "jaeger://127.0.0.1:16686" and "secret" not in once[1].short and "token" not in once[1].short
    live = sources_for([url, "a.jsonl"], follow=True, otlp=("127.0.0.1", 0), otlp_grpc=("127.0.0.1", 0), demo=1.0)
    assert [type(s) for s in live] == [StoreSource, FollowSource, ReceiverSource, DemoSource]
    assert all(s.mode == FOLLOW and s.status.state == STARTING for s in live)
    assert live[2].label == "otlp 127.0.0.1:0 + otlp-grpc 127.0.0.1:0"
    assert sources_for([]) == []


def test_load_paths_reads_any_mix_of_paths_and_store_urls(tmp_path):
    requests = demo_requests(start_ns=START_NS)
    write_requests(tmp_path / "a.jsonl", requests[:3])
    store = SpanStore()
    report = load_paths([str(tmp_path / "a.jsonl"), f"jaeger://127.0.0.1:{free_port()}?service=s", str(tmp_path / "none.jsonl")], store)
    assert len(store) == 3
    assert report.files[str(tmp_path / "a.jsonl")] is not None and report.spans[str(tmp_path / "a.jsonl")] == store.span_count
    unreadable = {error.source: error.message for error in report.unreadable}
    assert unreadable[str(tmp_path / "none.jsonl")] == "no such file or directory"
    assert any(source.startswith("jaeger://127.0.0.1:") for source in unreadable)  # refused: unreadable, not fatal


def test_a_source_that_raises_is_failed_with_its_problem_and_the_others_still_load(tmp_path):
    requests = demo_requests(start_ns=START_NS)
    write_requests(tmp_path / "a.jsonl", requests[:2])
    broken = Broken([])
    files = FileSource([str(tmp_path / "a.jsonl")])
    store = SpanStore()
    report = load_sources([broken, files], store)
    assert broken.status.state == FAILED and files.status.state == DONE
    assert broken.status.problem == "stopped: RuntimeError: the \x1b[31mparser\x1b[0m fell over"
    assert [(e.source, e.message) for e in report.unreadable] == [("broken://source", broken.status.problem)]
    assert any(e.source == "broken://source" for e in store.errors)  # a read error naming it, as any other
    assert len(store) == 2 and files.status.spans == store.span_count


def test_a_live_source_that_raises_on_its_thread_ends_alone(tmp_path):
    followed = tmp_path / "live.jsonl"
    write_requests(followed, demo_requests(start_ns=START_NS)[:1])
    store, ended = SpanStore(), []
    broken, follow = Broken([], mode=FOLLOW), FollowSource([str(followed)])
    for source in (broken, follow):
        source.start(store, on_end=ended.append)
    broken._thread.join(10)
    assert ended == [broken] and broken.status.state == FAILED and not broken.alive
    assert follow.alive  # still following
    with followed.open("ab") as out:
        out.write(orjson.dumps(demo_requests(start_ns=START_NS)[1]) + b"\n")
    _until(lambda: len(store) == 2)
    follow.stop()
    assert follow.status.state == STOPPED and ended == [broken, follow]


def test_stop_ends_every_thread(tmp_path):
    before = set(threading.enumerate())
    followed = tmp_path / "live.jsonl"
    followed.write_bytes(b"")
    write_requests(tmp_path / "big.jsonl", demo_requests(start_ns=START_NS))
    sources = [
        *sources_for([str(followed), f"jaeger://127.0.0.1:{free_port()}?service=s&interval=50ms"], follow=True,
                     otlp=("127.0.0.1", 0), otlp_grpc=("127.0.0.1", 0), spool=tmp_path / "spool", demo=30.0),
        *sources_for([str(tmp_path / "big.jsonl")]),
    ]
    store = SpanStore()
    for source in sources:
        source.start(store)
    _until(lambda: all(source.status.state != STARTING for source in sources))
    receiver = next(source for source in sources if isinstance(source, ReceiverSource))
    assert len(receiver.listening) == 2, receiver.status.problem
    assert len(set(threading.enumerate()) - before) > len(sources)  # the sources' threads, and their own
    for source in sources:
        source.stop()
    assert not any(source.alive for source in sources)
    assert {source.status.state for source in sources} <= {STOPPED, DONE}
    _until(lambda: not (set(threading.enumerate()) - before))  # the receivers' and poller's threads too
    assert receiver.spool is not None and receiver.spool.json_path.name == "spool.otlp.jsonl"  # still told after stop


def test_stop_before_start_and_twice_is_harmless(tmp_path):
    source = sources_for([str(tmp_path)], follow=True)[0]
    source.stop()
    source.stop()
    store = SpanStore()
    source.drive(store)  # a stopped source does not open
    assert source.status.state == STOPPED and store.span_count == 0 and not source.follower._thread.is_alive()


def _until(ready, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
