"""The OTLP/HTTP endpoint: the official OpenTelemetry SDK exporter against it, and every error path by hand."""

from __future__ import annotations

import gzip
import threading
import time

import httpx
import orjson
import pytest

from orchtui.sources.otlp_http import OtlpReceiver, Spool
from orchtui.store import SpanStore
from parsers import read_path
from tests.conftest import DATA

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def wait_for_spans(store: SpanStore, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while store.span_count < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.span_count == count


def sdk_provider(endpoint: str, compression=None, headers=None):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = OTLPSpanExporter(endpoint=endpoint, compression=compression or Compression.NoCompression, headers=headers)
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def emit_agent_run(provider, name: str = "agent_run") -> None:
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span(name) as root:
        root.set_attribute("openinference.span.kind", "AGENT")
        with tracer.start_as_current_span("ChatOpenAI") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("llm.model_name", "gpt-4o-mini")
            llm.set_attribute("llm.token_count.prompt", 120)
            llm.set_attribute("llm.token_count.completion", 8)
            llm.set_attribute("llm.finish_reason", "length")
        with tracer.start_as_current_span("lookup") as tool:
            tool.set_attribute("openinference.span.kind", "TOOL")
            tool.set_attribute("tool.name", "lookup")


@pytest.mark.parametrize("gzipped", [False, True])
def test_the_official_sdk_exporter_protobuf(receiver, gzipped):
    from opentelemetry.exporter.otlp.proto.http import Compression

    server, store = receiver()
    provider = sdk_provider(server.endpoint, Compression.Gzip if gzipped else None)
    emit_agent_run(provider)
    provider.shutdown()
    wait_for_spans(store, 3)
    (snapshot,) = store.snapshots()
    spans = {span.name: span for span in snapshot.spans}
    assert spans["ChatOpenAI"].stop_reason == "length" and spans["ChatOpenAI"].tokens.total == 128
    assert spans["agent_run"].service == "sdk-test"
    assert spans["ChatOpenAI"].parent_id == spans["agent_run"].span_id
    spooled = read_path(server.spool.proto_path)  # the spool reads back as the same spans
    assert sorted(s.name for s in spooled.spans) == ["ChatOpenAI", "agent_run", "lookup"] and spooled.errors == []


def emit_concurrently(providers, runs: int) -> None:
    """Each provider on its own thread emits `runs` agent runs (three spans each); all are shut down (flushed)."""

    def run(provider, worker):
        for run_number in range(runs):
            emit_agent_run(provider, f"run-{worker}-{run_number}")

    threads = [threading.Thread(target=run, args=(p, i)) for i, p in enumerate(providers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for provider in providers:
        provider.shutdown()


def test_several_concurrent_exporters_every_span_stored_exactly_once(receiver):
    server, store = receiver()
    emit_concurrently([sdk_provider(server.endpoint) for _ in range(4)], runs=10)
    wait_for_spans(store, 4 * 10 * 3)
    assert len(store) == 40
    assert all(s.duplicates == 0 and len(s.spans) == 3 for s in store.snapshots())
    assert server.stats.spans == 120 and server.stats.rejected == 0


def test_json_requests_answer_in_json_and_spool_as_lines(receiver):
    server, store = receiver()
    body = (DATA / "otlp/otlp-proto-example-trace.json").read_bytes()  # pretty-printed
    response = httpx.post(server.endpoint, content=body, headers=JSON)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    response = httpx.post(server.endpoint, content=gzip.compress(body), headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    wait_for_spans(store, 1)  # the same span twice: stored once
    # The 200 goes out once a request is spooled; the store takes it a moment later: wait for the duplicate too.
    deadline = time.monotonic() + 10
    while store.snapshots()[0].duplicates < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.snapshots()[0].duplicates == 1
    lines = server.spool.json_path.read_bytes().splitlines()
    assert len(lines) == 2 and all(orjson.loads(line)["resourceSpans"] for line in lines)


def test_protobuf_answers_with_an_empty_export_response(receiver):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    server, store = receiver()
    body = (DATA / "langgraph/langgraph-traceai.otlp.pb").read_bytes()
    response = httpx.post(server.endpoint, content=body, headers=PROTOBUF)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    ExportTraceServiceResponse.FromString(response.content)  # decodes
    wait_for_spans(store, 78)


def test_error_paths(receiver):
    server, store = receiver(max_body=100_000)
    url = server.endpoint
    garbage = httpx.post(url, content=b"\x0a\xff\xff garbage", headers=PROTOBUF)
    assert garbage.status_code == 400 and "cannot decode" in garbage.json()["message"]
    assert httpx.post(url, content=b"{not json", headers=JSON).status_code == 400
    assert httpx.post(url, content=b"[1, 2]", headers=JSON).status_code == 400
    wrong_type = httpx.post(url, content=b"hello", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and "application/x-protobuf" in wrong_type.json()["message"]
    assert httpx.post(url, content=b"x" * 200_000, headers=JSON).status_code == 413
    bomb = gzip.compress(b" " * 20_000_000)  # 20 MB of spaces in ~20 kB
    assert len(bomb) < 100_000
    assert httpx.post(url, content=bomb, headers={**JSON, "Content-Encoding": "gzip"}).status_code == 413
    assert httpx.post(url, content=b"{}", headers={**JSON, "Content-Encoding": "br"}).status_code == 400
    assert httpx.post(url, content=b"not gzip", headers={**JSON, "Content-Encoding": "deflate"}).status_code == 400
    assert httpx.get(url).status_code == 405
    assert httpx.post(url.replace("/v1/traces", "/v1/metrics"), content=b"{}", headers=JSON).status_code == 404
    assert store.span_count == 0 and not server.spool.paths()  # nothing rejected was spooled
    assert server.stats.requests == 0  # none of them was accepted


def test_bearer_token(receiver):
    server, store = receiver(token="s3cret")
    body = (DATA / "otlp/otlp-proto-example-trace.json").read_bytes()
    assert httpx.post(server.endpoint, content=body, headers=JSON).status_code == 401
    assert httpx.post(server.endpoint, content=body, headers={**JSON, "Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.post(server.endpoint, content=body, headers={**JSON, "Authorization": "Bearer s3cret"}).status_code == 200
    wait_for_spans(store, 1)


def test_an_empty_request_is_a_success(receiver):
    server, store = receiver()
    assert httpx.post(server.endpoint, content=b"", headers=PROTOBUF).status_code == 200
    assert httpx.post(server.endpoint, content=b"{}", headers=JSON).status_code == 200
    assert store.span_count == 0


# -- encodings, content types, schemes and paths other exporters use -------------------------------------------------


def test_deflate_x_gzip_application_protobuf_lowercase_bearer_and_prefixed_paths(receiver):
    import zlib

    server, store = receiver(token="s3cret")
    body = (DATA / "langgraph/langgraph-traceai.otlp.pb").read_bytes()
    raw_deflate = zlib.compressobj(wbits=-15)
    variants = [
        ({"Content-Encoding": "deflate"}, zlib.compress(body)),  # zlib-wrapped, as HTTP defines deflate
        ({"Content-Encoding": "deflate"}, raw_deflate.compress(body) + raw_deflate.flush()),  # what some send
        ({"Content-Encoding": "x-gzip"}, gzip.compress(body)),
        ({"Content-Encoding": "GZIP"}, gzip.compress(body)),
        ({"Content-Type": "application/protobuf"}, body),
    ]
    for extra, content in variants:
        headers = {**PROTOBUF, "Authorization": "bearer s3cret", **extra}
        response = httpx.post(server.endpoint, content=content, headers=headers)
        assert response.status_code == 200, (extra, response.text)
    prefixed = server.endpoint.replace("/v1/traces", "/otlp/v1/traces")
    assert httpx.post(prefixed, content=body, headers={**PROTOBUF, "Authorization": "BEARER s3cret"}).status_code == 200
    wait_for_spans(store, 78)
    assert server.stats.requests == 6 and server.stats.rejected == 0
    assert len(read_path(server.spool.proto_path).spans) == 6 * 78  # spooled decompressed, readable


# -- OTLP partial success: one bad span costs only itself ---------------------------------------------------------


def proto_batch(count: int, bad: dict[int, bytes] | None = None) -> bytes:
    """A request of `count` spans in one trace; `bad` replaces the wire bytes of some spans."""
    from google.protobuf.internal.encoder import _VarintBytes
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage

    def field(number: int, payload: bytes) -> bytes:
        return _VarintBytes(number << 3 | 2) + _VarintBytes(len(payload)) + payload

    spans = b""
    for index in range(count):
        message = SpanMessage(trace_id=b"\x01" * 16, span_id=(index + 1).to_bytes(8, "big"), name=f"span-{index}")
        message.start_time_unix_nano, message.end_time_unix_nano = 1_000, 2_000
        spans += field(2, (bad or {}).get(index) or message.SerializeToString())
    return field(1, field(2, spans))


def test_a_bad_protobuf_span_is_rejected_alone_with_partial_success(receiver):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    server, store = receiver()
    short_id = b"\x0a\x10" + b"\x02" * 16 + b"\x12\x05" + b"\x03" * 5  # a 5-byte span id
    bad_utf8 = b"\x0a\x10" + b"\x02" * 16 + b"\x12\x08" + b"\x04" * 8 + b"\x2a\x02\xff\xfe"  # name not UTF-8
    response = httpx.post(server.endpoint, content=proto_batch(100, {10: short_id, 50: bad_utf8}), headers=PROTOBUF)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2 and "16/8" in partial.error_message
    wait_for_spans(store, 98)
    assert server.stats.rejected_spans == 2 and server.stats.read_errors == 1
    (error,) = server.recent_errors
    assert "POST /v1/traces #1" in error.source and "2 span(s) rejected" in error.message


def test_a_bad_json_span_is_rejected_alone_with_partial_success(receiver):
    server, store = receiver()
    good = [{"traceId": "01" * 16, "spanId": f"{i + 1:016x}", "name": f"span-{i}"} for i in range(99)]
    spans = good[:40] + [{"name": "no ids"}] + good[40:] + ["not a span"]
    body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    response = httpx.post(server.endpoint, content=body, headers=JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2" and "span 40" in partial["errorMessage"] and "span 100" in partial["errorMessage"]
    wait_for_spans(store, 99)


# -- the ingest thread never dies on data ---------------------------------------------------------------------------


def test_a_request_that_breaks_the_consumer_costs_only_its_own_spans(tmp_path):
    """The app's `deliver` raising on a span (as the TUI's index did on a numeric status message) must not stop
    ingest: the other spans of that request are shown, every later request too, and none is answered 503."""
    from orchtui.sources.otlp_http import QUEUE_BATCHES

    store = SpanStore()
    reported = []

    def deliver(spans):
        if any(span.name == "poison" for span in spans):
            raise TypeError("cannot render a status message of type int")
        store.add(spans)

    server = OtlpReceiver(deliver, port=0, spool=Spool(tmp_path / "spool"), report=lambda errors, _: reported.extend(errors))
    server.start()
    try:
        spans = [
            {"traceId": "01" * 16, "spanId": "01" * 8, "name": "poison", "status": {"code": 2, "message": 404}},
            {"traceId": "01" * 16, "spanId": "02" * 8, "name": "neighbour", "attributes": [
                {"key": "llm.token_count.prompt", "value": {"stringValue": "inf"}}]},
        ]
        body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
        assert httpx.post(server.endpoint, content=body, headers=JSON).status_code == 200
        with httpx.Client() as client:
            for number in range(QUEUE_BATCHES + 20):
                good = {"traceId": f"{number + 2:032x}", "spanId": "03" * 8, "name": f"after-{number}"}
                body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [good]}]}]})
                assert client.post(server.endpoint, content=body, headers=JSON).status_code == 200
        wait_for_spans(store, 1 + QUEUE_BATCHES + 20)
        names = {span.name for snapshot in store.snapshots() for span in snapshot.spans}
        assert "neighbour" in names and f"after-{QUEUE_BATCHES + 19}" in names and "poison" not in names
        assert all("POST /v1/traces #1" in error.source for error in reported)  # all about the poisoned request
        (refused,) = [error for error in reported if "not shown" in error.message]
        assert "TypeError" in refused.message
        fields = [error.message for error in reported if error is not refused]  # values read as unknown, kept
        assert any("status.message" in m for m in fields) and any("inf" in m for m in fields)
        assert server.stats.read_errors == len(reported)
    finally:
        server.stop()


def test_a_value_of_the_wrong_type_is_reported_against_its_request_and_the_span_kept(receiver):
    server, store = receiver()
    span = {"traceId": "01" * 16, "spanId": "01" * 8, "name": "kept", "status": {"code": 2, "message": 404}}
    body = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    response = httpx.post(server.endpoint, content=body, headers=JSON)
    assert response.status_code == 200 and response.json() == {}  # kept: nothing rejected
    wait_for_spans(store, 1)
    (error,) = server.recent_errors
    assert "POST /v1/traces #1" in error.source and "status.message" in error.message
