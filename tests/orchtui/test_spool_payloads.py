"""Spans the receiver took leave their payloads in its spool (parsers/payloads.py): the spool is their file. They
read back identical from JSON lines and protobuf frames, and still after the spool rolled over to a new file."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from orchtui.demo import demo_requests
from orchtui.sources.otlp_ingest import ACCEPTED, Ingest
from orchtui.sources.spool import Spool, SpoolCap
from parsers import payloads

START_NS = 1_764_000_000_000_000_000


def proto_request(number: int) -> bytes:
    """A protobuf request of one LLM span whose payload is its attributes and an event."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = (number + 1).to_bytes(16, "big")
    span.span_id = (number + 1).to_bytes(8, "big")
    span.name = f"call {number}"
    span.start_time_unix_nano, span.end_time_unix_nano = START_NS, START_NS + 1_000_000
    for key, text in (
        ("openinference.span.kind", "LLM"),
        ("llm.model_name", "gpt-4o-mini"),
        ("llm.input_messages.0.message.role", "user"),
        ("llm.input_messages.0.message.content", f"question {number} " * 20),
        ("llm.output_messages.0.message.role", "assistant"),
        ("llm.output_messages.0.message.content", f"answer {number}"),
        ("output.value", f"answer {number}"),
    ):
        attribute = span.attributes.add()
        attribute.key, attribute.value.string_value = key, text
    event = span.events.add()
    event.name, event.time_unix_nano = "retry", START_NS + 5
    return request.SerializeToString()


class Delivered:
    def __init__(self) -> None:
        self.spans: list = []
        self.lock = threading.Lock()

    def __call__(self, spans) -> None:
        with self.lock:
            self.spans.extend(spans)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 5
        while len(self.spans) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.spans) == count


def payload_of(span) -> tuple:
    return (span.attributes, span.events, span.input, span.output, span.input_messages, span.output_messages)


@pytest.fixture(autouse=True)
def _fresh_cache():
    payloads.forget()
    yield
    payloads.forget()


@pytest.mark.parametrize("protobuf", [False, True], ids=["json", "protobuf"])
def test_received_spans_read_back_from_the_spool_after_a_roll_over(tmp_path, protobuf) -> None:
    bodies = [proto_request(n) for n in range(8)] if protobuf else [orjson.dumps(r) for r in demo_requests(start_ns=START_NS)]
    # A cap of twice the bodies: the file being written rolls over at a quarter of it, about halfway through.
    spool = Spool(tmp_path / "spool-test", SpoolCap(max_bytes=2 * sum(len(body) for body in bodies)))
    delivered = Delivered()
    ingest = Ingest(delivered, max_body=1 << 24, spool=spool)
    ingest.start()
    try:
        outcomes = [ingest.process(body, "identity", protobuf, f"request #{n}") for n, body in enumerate(bodies)]
        assert {outcome.kind for outcome in outcomes} == {ACCEPTED}
        count = sum(len(outcome.decoded.spans) for outcome in outcomes)
        delivered.wait_for(count)
    finally:
        ingest.stop()
    assert spool.segments() and not spool.pruned  # rolled over, nothing deleted yet
    expected = [payload_of(span) for span in delivered.spans]
    assert all(span.evict_payload() for span in delivered.spans)
    assert [payload_of(span) for span in delivered.spans] == expected
    assert payloads.stats.lost == 0
    assert all(str(span.source).startswith(str(tmp_path / "spool-test")) for span in delivered.spans)


def test_a_pruned_spool_file_says_the_payload_is_gone(tmp_path) -> None:
    spool = Spool(tmp_path / "spool-test")
    delivered = Delivered()
    ingest = Ingest(delivered, max_body=1 << 24, spool=spool)
    ingest.start()
    try:
        ingest.process(proto_request(1), "identity", True, "request #1")
        delivered.wait_for(1)
    finally:
        ingest.stop()
    (span,) = delivered.spans
    span.evict_payload()
    spool.proto_path.unlink()  # what --spool-max's pruner does to an old spool file
    assert "cannot read it" in span.attributes[payloads.LOST_KEY] and span.output is None
