"""`orchtui tail URL`: the poller that feeds a live view from trace stores (orchtui/remote/poller.py), headless and
in the app, against a loopback Jaeger."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from orchtui.remote.poller import RemotePoller
from tests.conftest import ROOT
from tests.orchtui.remote_http import REMOTE, Answer, free_port, no_user_config, run, serve

__all__ = ["no_user_config"]

FIND = json.loads((REMOTE / "jaeger/find-traces.json").read_text())


class Sink:
    def __init__(self):
        self.spans, self.errors = [], []
        self.changed = threading.Condition()

    def deliver(self, spans):
        with self.changed:
            self.spans.extend(spans)
            self.changed.notify_all()

    def report(self, errors, skipped):
        with self.changed:
            self.errors.extend(errors)
            self.changed.notify_all()

    def wait(self, ready, what):
        """Until `ready()` (checked as the sink changes, and every 20 ms for what changes elsewhere)."""
        deadline = time.monotonic() + 30
        with self.changed:
            while not ready():
                assert time.monotonic() < deadline, f"waited for {what}"
                self.changed.wait(0.02)


def _with_late_span(document):
    document = json.loads(json.dumps(document))
    spans = document["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append(dict(spans[0], spanId="00000000000000aa", name="late step"))
    return document


def test_the_poller_delivers_each_span_once_and_says_a_store_that_fails_once():
    answer = {"document": FIND, "status": 200}
    sink = Sink()
    with serve(lambda request: Answer(answer["status"], json.dumps(answer["document"]).encode())) as store:
        poller = RemotePoller([f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&interval=50ms",
                               "tempo://user:pw@127.0.0.1:1"], sink.deliver, sink.report)
        poller.start()
        try:
            sink.wait(lambda: len(sink.spans) == 78, "the first poll")
            answer["status"], answer["document"] = 503, {"error": {"httpCode": 503, "message": "overloaded"}}
            polls = len(store.requests)
            sink.wait(lambda: len(store.requests) >= polls + 3, "three failing polls")
            answer["status"], answer["document"] = 200, _with_late_span(FIND)
            sink.wait(lambda: len(sink.spans) == 79, "the late span")
        finally:
            poller.stop()
    assert sink.spans[-1].name == "late step" and len({(s.trace_id, s.span_id) for s in sink.spans}) == 79
    label = f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant"
    assert [(e.source, e.message) for e in sink.errors] == [
        ("tempo://127.0.0.1:1", "credentials in a URL would show in argv, shell history and logs: Tempo credentials go "
                                "in ORCHTUI_TEMPO_TOKEN, or ORCHTUI_TEMPO_USER and ORCHTUI_TEMPO_PASSWORD, or the config "
                                "file's [remote.tempo]"),
        (label, 'HTTP 503 on /api/v3/traces: {"error": {"httpCode": 503, "message": "overloaded"}}'),
    ]  # the failure said once, though it lasted several polls


def test_stop_ends_the_thread_while_a_store_is_unreachable():
    sink = Sink()
    poller = RemotePoller([f"phoenix://127.0.0.1:{free_port()}/p?interval=50ms"], sink.deliver, sink.report)
    poller.start()
    sink.wait(lambda: sink.errors, "the refused connection")
    poller.stop()
    assert not poller._thread.is_alive()
    assert len(sink.errors) == 1 and sink.errors[0].message.startswith("cannot connect")


async def test_tail_with_a_store_url_shows_its_traces_and_what_arrives_later():
    from orchtui.sources.factory import sources_for
    from tui.app import make_app

    answer = {"document": FIND}
    with serve(lambda request: Answer(200, json.dumps(answer["document"]).encode())) as store:
        app = make_app(sources_for([f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&interval=100ms"], follow=True))
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: (app.index.counts()["spans"], app.index.counts()["traces"]) == (78, 4))
            assert app.live
            answer["document"] = _with_late_span(FIND)
            await _until(pilot, lambda: app.index.counts()["spans"] == 79)
        (source,) = app.sources
        assert not source.alive and source.poller._thread is None  # polled on the source's own thread, now ended


async def _until(pilot, ready, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, "waited for the app"
        await pilot.pause(0.05)


# -- `orchtui tail URL` refuses a bad store URL before the UI starts, as `open` does -----------------------------


@pytest.mark.parametrize("url, says", [
    ("jaegr://127.0.0.1:{port}", "orchtui: jaegr://127.0.0.1:{port}: unknown store scheme jaegr:// (known: clickhouse://"),
    ("jaeger://admin:hunter2@127.0.0.1:{port}?service=s",
     "orchtui: jaeger://127.0.0.1:{port}: credentials in a URL would show in argv, shell history and logs: "
     "a Jaeger token goes in ORCHTUI_JAEGER_TOKEN"),
    ("phoenix://127.0.0.1:{port}/p?api_key=hunter2", "orchtui: phoenix://127.0.0.1:{port}/p: api_key= in a URL would show in argv"),
    ("clickhouse://alice:hunter2@127.0.0.1:{port}/otel", "orchtui: clickhouse://127.0.0.1:{port}/otel: a password in the URL"),
    ("tempo://127.0.0.1:{port}?since=yesterday", "orchtui: tempo://127.0.0.1:{port}: since='yesterday': use a duration"),
    ("jaeger://[::1:{port}", "orchtui: jaeger://[::1:{port}: malformed URL: Invalid IPv6 URL"),
])
def test_tail_refuses_a_bad_store_url_before_the_ui_starts(url, says):
    with serve(lambda request: Answer(200, b"{}")) as store:
        result = subprocess.run([sys.executable, "-m", "orchtui", "tail", "demo.jsonl", url.format(port=store.port)],
                                cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2 and result.stdout == ""  # no UI: not even the alternate screen was entered
    assert result.stderr.startswith(says.format(port=store.port)) and result.stderr.count("\n") == 1
    assert "hunter2" not in result.stderr and store.requests == []  # nothing echoed, nothing asked of the store


def test_tail_with_a_good_store_url_and_a_bad_one_refuses_both_and_open_says_the_same():
    good, bad = "jaeger://127.0.0.1:16686?service=s", "jaeger://u:p@127.0.0.1:16686?service=s"
    said = []
    for command in ("tail", "open"):
        code, out, err = run(command, good, bad)
        assert code == 2 and out == ""
        said.append(err)
    assert said[0] == said[1] and said[0].startswith("orchtui: jaeger://127.0.0.1:16686: credentials in a URL")


# -- what the `!` screen and the status line read: short labels and each store's state ---------------------------


@pytest.mark.parametrize("url, short", [
    ("jaeger://127.0.0.1:16686?service=s", "jaeger 127.0.0.1:16686 service=s"),
    ("jaeger+https://jaeger.internal:443?service=a b&operation=chat", "jaeger+https jaeger.internal:443 service=a b operation=chat"),
    ("jaeger://127.0.0.1:16686?service=s&since=15m&limit=5&lag=1m&timeout=9&interval=1s", "jaeger 127.0.0.1:16686 service=s"),
    ("phoenix://127.0.0.1:6006/refund%20agent?since=1h", "phoenix 127.0.0.1:6006/refund agent"),
    ("phoenix://127.0.0.1:6006", "phoenix 127.0.0.1:6006"),
    ('tempo://t:3200?q={resource.service.name="S"}&tenant=team', 'tempo t:3200 q={resource.service.name="S"} tenant=team'),
    ("clickhouse://default@127.0.0.1:8123/otel?table=otel_traces", "clickhouse default@127.0.0.1:8123/otel table=otel_traces"),
    ("clickhouse://reader@ch:8123/otel?since=7d&pushdown=0&trace=ab12", "clickhouse reader@ch:8123/otel trace=ab12"),
    # secrets never show, even in a URL that would be refused
    ("clickhouse://alice:hunter2@ch:8123/otel?password=hunter2&api_key=hunter2", "clickhouse alice@ch:8123/otel"),
    ("JAEGER://[::1]:16686#frag", "jaeger [::1]:16686"),
])
def test_short_label(url, short):
    from orchtui.remote.base import short_label

    assert short_label(url) == short


def test_a_sources_label_and_its_short_label_name_the_same_store():
    from orchtui.remote import source_for
    from orchtui.remote.base import short_label

    for url in ("jaeger://127.0.0.1:16686?service=s&since=2h", "tempo://127.0.0.1:3200?q={}&tenant=t&interval=1s",
                "phoenix://127.0.0.1:6006/p?limit=5"):
        assert short_label(source_for(url).label) == short_label(url)


def test_each_store_says_its_state_interval_spans_and_last_poll():
    from orchtui.remote.poller import FAILING, IDLE, POLLING, STARTING

    release, answer = threading.Event(), {"status": 200}

    def store_answer(request):
        release.wait(30)
        return Answer(answer["status"], json.dumps(FIND if answer["status"] == 200 else {"error": "down"}).encode())

    sink = Sink()
    with serve(store_answer) as store:
        poller = RemotePoller([f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&interval=50ms", "ftp://h/x?token=t"],
                              sink.deliver, sink.report)
        polled, bad = poller.stores
        assert (polled.state, polled.label, bad.state, bad.label) == (STARTING, f"jaeger://127.0.0.1:{store.port}", STARTING, "ftp://h/x")
        poller.start()
        try:
            sink.wait(lambda: polled.state == POLLING and bad.state == FAILING, "the first poll under way")
            assert polled.interval == 0.05 and polled.last_poll is None and polled.spans == 0
            assert bad.source is None and bad.problem.startswith("unknown store scheme ftp://") and bad.failing_since
            release.set()
            sink.wait(lambda: polled.polls >= 1, "an answer")
            assert polled.spans == 78 and polled.last_poll is not None and polled.state in (IDLE, POLLING)
            answer["status"] = 503
            sink.wait(lambda: polled.state == FAILING, "the failure")
            since = polled.failing_since
            polls = len(store.requests)
            sink.wait(lambda: len(store.requests) >= polls + 2, "polls while failing")
            assert polled.failing_since == since and polled.problem.startswith("HTTP 503")  # since the first failure
            answer["status"] = 200
            sink.wait(lambda: polled.problem is None, "the store back")
            assert polled.failing_since is None and polled.state in (IDLE, POLLING) and polled.spans == 78
        finally:
            release.set()
            poller.stop()
    assert polled.label == f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant"


def test_a_slow_store_does_not_hold_up_another():
    release = threading.Event()

    def slow(request):
        release.wait(30)
        return Answer(200, b'{"result": {"resourceSpans": []}}')

    sink = Sink()
    with serve(slow) as hung, serve(lambda request: Answer(200, json.dumps(FIND).encode())) as quick:
        poller = RemotePoller([f"jaeger://127.0.0.1:{hung.port}?service=s&interval=50ms",
                               f"jaeger://127.0.0.1:{quick.port}?service=vendor-assistant&interval=50ms"], sink.deliver, sink.report)
        poller.start()
        try:
            sink.wait(lambda: len(quick.requests) >= 3 and sink.spans, "the quick store's polls while the slow one's hangs")
            assert len(hung.requests) == 1 and len(sink.spans) == 78
        finally:
            release.set()
            poller.stop()


# -- a polled store as a source: its problem in its status, polled on the source's own thread ---------------------


class SourceSink:
    """What a source delivers to (`add`, `add_errors`), on the poller tests' `Sink`."""

    def __init__(self, sink: Sink):
        self.sink = sink

    def add(self, spans):
        self.sink.deliver(spans)

    def add_errors(self, errors, skipped=None):
        self.sink.report(errors, skipped or {})


def test_a_polled_store_that_fails_says_so_in_its_source_status_and_clears_it_when_it_answers():
    from orchtui.sources.base import RUNNING, STOPPED
    from orchtui.sources.stores import StoreSource

    answer = {"status": 200}
    sink = Sink()
    with serve(lambda request: Answer(answer["status"], json.dumps(FIND if answer["status"] == 200 else {"error": "down"}).encode())) as store:
        source = StoreSource(f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&interval=50ms", follow=True)
        source.start(SourceSink(sink))
        try:
            sink.wait(lambda: len(sink.spans) == 78, "the first poll")
            assert source.status.problem is None and source.status.spans == 78
            answer["status"] = 503
            sink.wait(lambda: source.status.problem is not None, "the failure in the source's status")
            assert source.status.problem.startswith("HTTP 503") and source.status.problem == source.polled.problem
            assert source.status.state == RUNNING  # failing, still live: polled again at the next interval
            answer["status"] = 200
            sink.wait(lambda: source.status.problem is None, "the store back")
            assert source.polled.problem is None and source.status.state == RUNNING
        finally:
            source.stop()
    assert not source.alive and source.status.state == STOPPED
    assert [error.message[:8] for error in sink.errors] == ["HTTP 503"]  # said once


def test_a_url_naming_no_store_is_the_polled_sources_problem_and_it_stays_live_until_stopped():
    from orchtui.sources.base import RUNNING, STOPPED
    from orchtui.sources.stores import StoreSource

    sink = Sink()
    source = StoreSource("ftp://h/x", follow=True)
    source.start(SourceSink(sink))
    try:
        sink.wait(lambda: source.status.problem is not None, "the problem")
        assert source.status.problem.startswith("unknown store scheme ftp://") and source.status.state == RUNNING
    finally:
        source.stop()
    assert not source.alive and source.status.state == STOPPED


def test_stop_ends_run_between_polls_however_long_the_interval():
    sink = Sink()
    with serve(lambda request: Answer(200, json.dumps(FIND).encode())) as store:
        poller = RemotePoller([f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&interval=1h"], sink.deliver, sink.report)
        runner = threading.Thread(target=poller.run, daemon=True)  # run() blocks on the caller's thread
        runner.start()
        try:
            sink.wait(lambda: poller.stores[0].polls == 1, "the first poll")
            assert runner.is_alive()  # waiting an hour for the next poll
            poller.stop()
            runner.join(30)  # a bound, not a timing: without stop() it would wait an hour
            assert not runner.is_alive()
        finally:
            poller.stop()
    assert len(store.requests) == 1 and len(sink.spans) == 78
    poller.stop()  # again: harmless


def test_a_polled_store_costs_one_thread_its_sources_own():
    from orchtui.sources.stores import StoreSource

    sink = Sink()
    with serve(lambda request: Answer(200, json.dumps(FIND).encode())) as store:
        before = set(threading.enumerate())
        sources = [StoreSource(f"jaeger://127.0.0.1:{store.port}?service=s{n}&interval=50ms", follow=True)
                   for n in range(3)]
        for source in sources:
            source.start(SourceSink(sink))
        try:
            sink.wait(lambda: all(source.polled.polls >= 2 for source in sources), "two polls of each store")
            ours = [thread for thread in set(threading.enumerate()) - before if thread.name.startswith("orchtui")]
            assert sorted(thread.name for thread in ours) == ["orchtui-source-store"] * 3
            assert {thread for thread in ours} == {source._thread for source in sources}
        finally:
            for source in sources:
                source.stop()
    assert not any(source.alive for source in sources)
