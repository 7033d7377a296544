"""The receiver under abuse: bombs and floods of empty messages are refused at their caps, decoding never holds the
event loop, saturation answers 503, and half-open or idle connections cannot lock out a real client.

Every network test runs on 127.0.0.1, with a bounded number of sockets and bounded waits."""

from __future__ import annotations

import gzip
import select
import socket
import threading
import time
import zlib

import httpx
import orjson
import pytest
from google.protobuf.internal.encoder import _VarintBytes

from orchtui.sources.otlp_decode import Limits, TooLarge, decompress
from orchtui.sources.otlp_http import ReceiverLimits

pytestmark = pytest.mark.slow  # run by .ci/run after the default suite (see pyproject.toml)

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
MB = 1 << 20


def field(number: int, payload: bytes) -> bytes:
    return _VarintBytes(number << 3 | 2) + _VarintBytes(len(payload)) + payload


def one_span() -> bytes:
    return json_body([{"traceId": "01" * 16, "spanId": "02" * 8, "name": "small"}])


def json_body(spans: list) -> bytes:
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})


# -- bodies ----------------------------------------------------------------------------------------------------------


def test_decompression_stops_at_the_limit():
    bomb = gzip.compress(b"\0" * (64 * MB))  # ~64 kB that would inflate to 64 MB
    with pytest.raises(TooLarge):
        decompress(bomb, "gzip", 1 * MB)
    assert decompress(zlib.compress(b"x" * MB), "deflate", MB) == b"x" * MB  # exactly at the limit is fine


def test_bombs_and_floods_of_empty_messages_get_413_and_the_next_client_is_served(receiver):
    server, _store = receiver()
    empty_spans = field(1, field(2, b"\x12\x00" * (10 * MB // 2)))  # 10 MB: five million empty spans
    empty_resources = b"\x0a\x00" * (10 * MB // 2)  # five million empty ResourceSpans
    many_attributes = field(1, field(2, field(2, b"\x4a\x00" * (10 * MB // 2))))  # one span, five million attributes
    empty_json = json_body([{}] * 2_000_000)
    cases = [
        (empty_spans, PROTOBUF, "spans"),
        (empty_resources, PROTOBUF, "messages"),
        (many_attributes, PROTOBUF, "messages"),
        (empty_json, JSON, "JSON objects"),
        (gzip.compress(b" " * 32 * MB), {**JSON, "Content-Encoding": "gzip"}, "decompressed"),
    ]
    with httpx.Client(timeout=60) as client:
        for body, headers, what in cases:
            response = client.post(server.endpoint, content=body, headers=headers)
            assert response.status_code == 413 and what in response.json()["message"], (what, response.text)
        assert client.post(server.endpoint, content=one_span(), headers=JSON).status_code == 200
    assert server.stats.requests == 1 and server.stats.rejected == len(cases)


def test_the_span_cap_is_per_request_and_configurable(receiver):
    server, _store = receiver(limits=ReceiverLimits(max_spans=10))
    spans = [{"traceId": "01" * 16, "spanId": f"{i + 1:016x}", "name": "s"} for i in range(11)]
    response = httpx.post(server.endpoint, content=json_body(spans), headers=JSON)
    assert response.status_code == 413 and "more than 10 spans" in response.json()["message"]
    assert httpx.post(server.endpoint, content=json_body(spans[:10]), headers=JSON).status_code == 200


def test_decoding_runs_off_the_event_loop_and_saturation_answers_503(receiver):
    """While a decode is stuck on a worker, the loop still answers: another request is decoded on the second
    worker, and one more than `pending` allows gets 503 with Retry-After at once."""
    server, _store = receiver(limits=ReceiverLimits(workers=2, pending=2))
    release, entered = threading.Event(), threading.Event()
    process = server._process

    def stuck_on_the_first_request(raw, *args):
        if raw == b'{"stuck": true}':
            entered.set()
            release.wait(20)
        return process(raw, *args)

    server._process = stuck_on_the_first_request
    stuck = {}
    blocker = threading.Thread(
        target=lambda: stuck.update(response=httpx.post(server.endpoint, content=b'{"stuck": true}', headers=JSON, timeout=30))
    )
    blocker.start()
    try:
        assert entered.wait(10)
        assert httpx.post(server.endpoint, content=one_span(), headers=JSON, timeout=10).status_code == 200
        assert not stuck  # the stuck request is still being decoded
        release.clear()
        second = threading.Thread(
            target=lambda: httpx.post(server.endpoint, content=b'{"stuck": true}', headers=JSON, timeout=30)
        )
        entered.clear()
        second.start()
        assert entered.wait(10)  # now both pending slots are taken
        refused = httpx.post(server.endpoint, content=one_span(), headers=JSON, timeout=10)
        assert refused.status_code == 503 and refused.headers["Retry-After"] in ("1", "2")
    finally:
        release.set()
        blocker.join(30)
        second.join(30)
    assert stuck["response"].status_code == 200


# -- connections -----------------------------------------------------------------------------------------------------


def half_open(port: int) -> socket.socket:
    """A client that sends the start of a request and then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
    return sock


def closed_by_server(sockets: list[socket.socket], wait: float, enough: int | None = None) -> int:
    """How many of `sockets` the server has closed (EOF, reset or an answer then EOF), waiting at most `wait`
    seconds, or until `enough` are."""
    closed, deadline = set(), time.monotonic() + wait
    while len(closed) < (enough or len(sockets)) and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in sockets if s not in closed], [], [], 0.1)
        for sock in readable:
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed.add(sock)
    return len(closed)


def test_half_open_connections_over_the_cap_do_not_lock_out_a_new_client(receiver):
    server, _store = receiver(limits=ReceiverLimits(max_connections=20, idle_timeout=120))
    sockets = [half_open(server.port) for _ in range(60)]
    try:
        with httpx.Client(timeout=10) as client:
            assert client.post(server.endpoint, content=one_span(), headers=JSON).status_code == 200
        # 41 made room (the oldest idle ones closed, or, in a burst not yet listed, the newest refused with 503)
        assert closed_by_server(sockets, wait=10, enough=41) >= 41
        assert server.stats.evicted + server.stats.refused >= 41
    finally:
        for sock in sockets:
            sock.close()


def test_idle_and_header_timeouts_close_silent_connections(receiver):
    server, _store = receiver(limits=ReceiverLimits(idle_timeout=0.5))
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # connects, sends nothing
    sockets = [silent, half_open(server.port)]
    try:
        assert closed_by_server(sockets, wait=15) == 2
        assert httpx.post(server.endpoint, content=one_span(), headers=JSON, timeout=10).status_code == 200
    finally:
        for sock in sockets:
            sock.close()


def test_a_body_that_never_arrives_gets_408(receiver):
    server, store = receiver(limits=ReceiverLimits(body_timeout=0.5))
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")
    assert store.span_count == 0 and server.stats.requests == 0


def test_the_default_connection_cap_leaves_descriptors_to_spare():
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert ReceiverLimits().max_connections <= max(16, soft - 128)


def test_decode_limits_count_nested_messages_of_large_spans_only():
    from orchtui.sources.otlp_decode import WHOLE_PARSE, decode_protobuf
    from parsers.span import Source

    limits = Limits(max_body=64 * MB, max_spans=100, max_messages=1000)
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8
    big_text = field(9, field(1, b"input.value") + field(2, field(1, b"x" * (400 * 1024))))  # one 400 kB attribute
    body = field(1, field(2, field(2, span + big_text)))
    assert len(body) > WHOLE_PARSE  # split span by span, the large span walked
    decoded = decode_protobuf(body, Source("test"), limits)
    assert len(decoded.spans) == 1 and decoded.rejected == 0  # a big string is one field, not a flood
    nested = field(9, field(1, b"k") + field(2, field(5, b"\x0a\x00" * 200_000)))  # 200,000 empty values
    with pytest.raises(TooLarge):
        decode_protobuf(field(1, field(2, field(2, span + nested))), Source("test"), limits)


def test_split_and_whole_decoding_read_the_same_spans(monkeypatch):
    from orchtui.sources import otlp_decode
    from parsers.span import Source
    from tests.conftest import DATA

    body = (DATA / "langgraph/langgraph-traceai.otlp.pb").read_bytes()
    limits = Limits(max_body=64 * MB, max_spans=1000, max_messages=100_000)
    whole = otlp_decode.decode_protobuf(body, Source("t"), limits)
    monkeypatch.setattr(otlp_decode, "WHOLE_PARSE", 0)
    split = otlp_decode.decode_protobuf(body, Source("t"), limits)
    assert len(whole.spans) == len(split.spans) == 78 and whole.rejected == split.rejected == 0

    def shape(span):
        return (span.span_id, span.parent_id, span.name, span.service, span.scope, span.kind, span.tokens, span.attributes)

    assert [shape(span) for span in whole.spans] == [shape(span) for span in split.spans]


def test_small_requests_never_queue_behind_a_large_one(receiver):
    """A large body is decoded in its own lane: while one is stuck there (and a second waits), small requests are
    answered, and a third large one gets 503."""
    server, _store = receiver(limits=ReceiverLimits(workers=1, pending=1, large_body=1000, large_pending=2))
    release, entered = threading.Event(), threading.Event()
    process = server._process
    large = json_body([{"traceId": "01" * 16, "spanId": f"{i + 1:016x}", "name": "x" * 50} for i in range(30)])
    assert len(large) > 1000

    def stuck_on_large_requests(raw, *args):
        if raw == large:
            entered.set()
            release.wait(20)
        return process(raw, *args)

    server._process = stuck_on_large_requests
    answers = []
    senders = [
        threading.Thread(target=lambda: answers.append(httpx.post(server.endpoint, content=large, headers=JSON, timeout=30)))
        for _ in range(2)
    ]
    try:
        for sender in senders:
            sender.start()
        assert entered.wait(10)
        deadline = time.monotonic() + 10
        while server._lanes[1].pending < 2 and time.monotonic() < deadline:  # the second one is queued too
            time.sleep(0.01)
        for _ in range(5):
            assert httpx.post(server.endpoint, content=one_span(), headers=JSON, timeout=10).status_code == 200
        assert httpx.post(server.endpoint, content=large, headers=JSON, timeout=10).status_code == 503
        assert not answers
    finally:
        release.set()
        for sender in senders:
            sender.join(30)
    assert [answer.status_code for answer in answers] == [200, 200]
