"""The receiver's spool: torn records are cut on open (synthetic and after a real kill -9 of `orchtui serve`), a
failed write leaves no partial record and answers 503, and a retried request is stored once."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import orjson
import pytest

from orchtui.sources.otlp_http import Spool
from parsers import read_path
from tests.conftest import ROOT

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def json_request(span_id: int, trace: int = 1) -> bytes:
    span = {"traceId": f"{trace:032x}", "spanId": f"{span_id:016x}", "name": f"s{span_id}", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def proto_request(span_id: int, trace: int = 1) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = trace.to_bytes(16, "big")
    span.span_id = span_id.to_bytes(8, "big")
    span.name = f"p{span_id}"
    span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
    return request.SerializeToString()


def names(path) -> tuple[set[str], list]:
    result = read_path(path)
    return {span.name for span in result.spans}, result.errors


# -- synthetic torn files ------------------------------------------------------------------------------------------


def test_a_torn_json_line_is_cut_on_open_and_the_next_record_stands_alone(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.write_json(json_request(1))
    spool.close()
    with open(spool.json_path, "ab") as out:
        out.write(json_request(2)[:25])  # a crash mid-write: no newline
    reopened = Spool(tmp_path / "spool")
    assert len(reopened.repairs) == 1 and "torn" in reopened.repairs[0]
    reopened.write_json(json_request(3))
    reopened.close()
    assert names(spool.json_path) == ({"s1", "s3"}, [])


def test_a_torn_file_without_any_complete_record_is_emptied(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.json_path.write_bytes(b'{"resourceSpans": [')
    spool.proto_path.write_bytes(b"\x00\x00")  # not even a whole length prefix
    reopened = Spool(tmp_path / "spool")
    assert spool.json_path.read_bytes() == b"" and spool.proto_path.read_bytes() == b""
    assert len(reopened.repairs) == 2


@pytest.mark.parametrize("cut", [1, 3, 4, 10])  # inside the prefix, at its end, inside the message
def test_a_truncated_protobuf_frame_is_cut_so_framing_stays_in_step(tmp_path, cut):
    spool = Spool(tmp_path / "spool")
    spool.write_proto(proto_request(1))
    spool.close()
    frame = len(proto_request(2)).to_bytes(4, "big") + proto_request(2)
    with open(spool.proto_path, "ab") as out:
        out.write(frame[:cut])
    reopened = Spool(tmp_path / "spool")
    assert len(reopened.repairs) == 1
    for span_id in range(3, 8):
        reopened.write_proto(proto_request(span_id))
    reopened.close()
    assert names(spool.proto_path) == ({"p1", "p3", "p4", "p5", "p6", "p7"}, [])


def test_complete_files_are_left_alone(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.write_json(json_request(1))
    spool.write_proto(proto_request(1))
    spool.close()
    before = spool.json_path.read_bytes(), spool.proto_path.read_bytes()
    assert Spool(tmp_path / "spool").repairs == []
    assert (spool.json_path.read_bytes(), spool.proto_path.read_bytes()) == before


# -- a failed write ------------------------------------------------------------------------------------------------


def full_disk_after(limit: int):
    """An `os.write` that writes at most `limit` bytes and then fails as a full disk does."""

    room = [limit]

    def write(fd, data):
        if room[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(fd, bytes(data[: room[0]]))
        room[0] -= written
        return written

    return write


@pytest.mark.parametrize("framed", [False, True])
def test_a_failed_write_leaves_no_partial_record(tmp_path, framed):
    spool = Spool(tmp_path / "spool")
    write, path, request = (
        (spool.write_proto, spool.proto_path, proto_request) if framed else (spool.write_json, spool.json_path, json_request)
    )
    write(request(1))
    spool._write = full_disk_after(7)
    with pytest.raises(OSError):
        write(request(2))
    spool._write = os.write
    write(request(3))
    spool.close()
    assert names(path) == ({"p1", "p3"} if framed else {"s1", "s3"}, [])


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


@pytest.mark.parametrize("protobuf", [False, True])
def test_a_full_disk_answers_503_and_the_retry_is_stored_once(receiver, protobuf):
    server, store = receiver()
    headers, request = (PROTOBUF, proto_request) if protobuf else (JSON, json_request)
    server.spool._write = full_disk_after(5)
    refused = httpx.post(server.endpoint, content=request(1), headers=headers)
    assert refused.status_code == 503 and refused.headers["Retry-After"] in ("1", "2")
    assert "retry" in refused.json()["message"]
    assert server.stats.spool_errors == 1 and server.stats.requests == 0
    server.spool._write = os.write  # space again: the client retries
    assert httpx.post(server.endpoint, content=request(1), headers=headers).status_code == 200
    assert httpx.post(server.endpoint, content=request(2), headers=headers).status_code == 200
    wait_for(lambda: store.span_count == 2)
    assert store.snapshots()[0].duplicates == 0  # the refused request's span was never delivered
    path = server.spool.proto_path if protobuf else server.spool.json_path
    spans = read_path(path)
    assert len(spans.spans) == 2 and spans.errors == []  # spooled once each, no partial record


# -- kill -9 of a real `orchtui serve` -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(base, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "orchtui", "serve", "--otlp", f"127.0.0.1:{port}", "--save", str(base)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/traces", content=b"{}", headers=JSON, timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"serve did not start: {process.stdout.read()[:2000]!r}")


def test_kill_9_mid_load_then_restart_keeps_every_acknowledged_span_readable(tmp_path):
    base, port = tmp_path / "spool", free_port()
    url = f"http://127.0.0.1:{port}/v1/traces"
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:  # protobuf and JSON requests as fast as one client sends them, until the kill
        number = 0
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                number += 1
                protobuf = number % 2 == 0
                body = proto_request(number) if protobuf else json_request(number)
                try:
                    response = client.post(url, content=body, headers=PROTOBUF if protobuf else JSON)
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    acknowledged.append(f"p{number}" if protobuf else f"s{number}")

    first = start_serve(base, port)
    try:
        sender = threading.Thread(target=load)
        sender.start()
        wait_for(lambda: len(acknowledged) >= 200, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        stop.set()
        sender.join(10)
    finally:
        first.kill()
        first.stdout.close()
    json_path, proto_path = base.with_name("spool.otlp.jsonl"), base.with_name("spool.otlp.pb")
    before = set(acknowledged)
    # Whatever the kill left, make sure both files end torn, as a kill inside the write would leave them.
    with open(json_path, "ab") as out:
        out.write(json_request(10**6)[:30])
    with open(proto_path, "ab") as out:
        out.write((len(proto_request(10**6)) + 1000).to_bytes(4, "big") + proto_request(10**6))

    second = start_serve(base, port)
    try:
        after = []
        with httpx.Client(timeout=5) as client:
            for number in range(10**7, 10**7 + 100):
                protobuf = number % 2 == 0
                body = proto_request(number) if protobuf else json_request(number)
                response = client.post(url, content=body, headers=PROTOBUF if protobuf else JSON)
                assert response.status_code == 200
                after.append(f"p{number}" if protobuf else f"s{number}")
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        second.stdout.close()
    stored = set()
    for path in (json_path, proto_path):
        spans, errors = names(path)
        assert errors == [], (path, errors[:3])  # nothing glued, framing in step
        stored |= spans
    assert set(after) <= stored  # every span acknowledged after the restart reads back
    assert before <= stored  # and none acknowledged before the kill was lost
