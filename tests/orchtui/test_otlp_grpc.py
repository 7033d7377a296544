"""The OTLP/gRPC endpoint (the grpc extra): the official SDK gRPC exporter against it, every status by hand over a
raw channel (bytes in, bytes out), the ingest it shares with the HTTP endpoint, `check --json` equal through gRPC,
HTTP and the file, the CLI and the TUI."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import orjson
import pytest

grpc = pytest.importorskip("grpc")  # the test extra installs it; without it these tests cannot run

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from orchtui.sources.otlp_grpc import METHOD, SERVICE, OtlpGrpcReceiver, retry_info  # noqa: E402
from orchtui.sources.otlp_ingest import QUEUE_BATCHES, ReceiverLimits  # noqa: E402
from orchtui.sources.spool import Spool, SpoolCap  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402
from parsers import read_path  # noqa: E402
from tests.conftest import DATA, ROOT  # noqa: E402
from tests.orchtui.test_cli_check import run  # noqa: E402
from tests.orchtui.test_otlp_receiver import emit_agent_run, emit_concurrently, wait_for_spans  # noqa: E402

PROTOBUF = {"Content-Type": "application/x-protobuf"}
LANGGRAPH_PB = DATA / "langgraph/langgraph-openinference.otlp.pb"  # one raw ExportTraceServiceRequest, 78 spans


class Client:
    """A raw gRPC client of TraceService/Export: bytes in, bytes out, the status and trailers kept."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.export = self.channel.unary_unary(f"/{SERVICE}/{METHOD}", request_serializer=None, response_deserializer=None)

    def __call__(self, body: bytes, token: str | None = None, **options):
        """(status code, response bytes or the error details, trailing metadata)"""
        metadata = [("authorization", token)] if token is not None else None
        try:
            response, call = self.export.with_call(body, metadata=metadata, timeout=20, **options)
        except grpc.RpcError as error:
            return error.code(), error.details(), dict(error.trailing_metadata() or ())
        return call.code(), response, dict(call.trailing_metadata() or ())

    def close(self) -> None:
        self.channel.close()


@pytest.fixture
def client():
    clients = []

    def connect(port: int) -> Client:
        clients.append(Client(port))
        return clients[-1]

    yield connect
    for made in clients:
        made.close()


def request(*span_ids: int, trace: int = 1, name: str = "s") -> bytes:
    message = ExportTraceServiceRequest()
    spans = message.resource_spans.add().scope_spans.add().spans
    for span_id in span_ids:
        span = spans.add()
        span.trace_id = trace.to_bytes(16, "big")
        span.span_id = span_id.to_bytes(8, "big")
        span.name = f"{name}{span_id}"
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    return message.SerializeToString()


def frames(path) -> int:
    data, offset, count = path.read_bytes(), 0, 0
    while offset < len(data):
        offset += 4 + int.from_bytes(data[offset : offset + 4], "big")
        count += 1
    return count


def sdk_grpc_provider(port: int, headers=None, compression=None, gave_up: list | None = None):
    """A TracerProvider exporting each span as it ends with the SDK's gRPC exporter. `gave_up` collects the spans
    whose export the SDK abandoned (it retries UNAVAILABLE a fixed number of times, then drops the batch)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, headers=headers, compression=compression, timeout=10)
    if gave_up is not None:
        export = exporter.export

        def counted(spans):
            result = export(spans)
            if result is not SpanExportResult.SUCCESS:
                gave_up.extend(spans)
            return result

        exporter.export = counted
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-grpc-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


# -- the official exporter ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True])
def test_the_official_sdk_grpc_exporter_spans_arrive_once_and_are_spooled(grpc_receiver, gzipped):
    server, store = grpc_receiver(token="s3cret")
    compression = grpc.Compression.Gzip if gzipped else grpc.Compression.NoCompression
    provider = sdk_grpc_provider(server.port, {"authorization": "Bearer s3cret"}, compression)
    emit_agent_run(provider)
    emit_agent_run(provider, "second_run")
    provider.shutdown()
    wait_for_spans(store, 6)
    time.sleep(0.2)
    assert store.span_count == 6  # once each
    spans = {span.name: span for snapshot in store.snapshots() for span in snapshot.spans}
    assert spans["ChatOpenAI"].stop_reason == "length" and spans["ChatOpenAI"].tokens.total == 128
    assert spans["agent_run"].service == "sdk-grpc-test"
    spooled = read_path(server.spool.proto_path)  # the raw request bytes, framed: they read back as the same spans
    assert sorted(s.name for s in spooled.spans) == sorted(["ChatOpenAI", "agent_run", "lookup", "ChatOpenAI", "second_run", "lookup"])
    assert spooled.errors == [] and frames(server.spool.proto_path) == 6  # SimpleSpanProcessor: a request per span
    assert server.stats.requests == 6 and server.stats.rejected == 0


@pytest.mark.slow
def test_concurrent_sdk_exporters_over_busy_decoders_store_every_span_exactly_once(grpc_receiver):
    """Eight exporters at once over one worker: some calls are answered UNAVAILABLE, the exporters retry them
    (RetryInfo), and every span whose export succeeded is stored once, in the store and in the spool. The SDK
    abandons a call after a fixed number of UNAVAILABLE answers (all rejected clients retry in step, a second
    later), which on a busy CI machine happened to one span in two runs of four: that span was never accepted, so
    it is the client's loss, counted here, and not the receiver's."""
    server, store = grpc_receiver(limits=ReceiverLimits(workers=1, pending=1))
    gave_up: list = []
    emit_concurrently([sdk_grpc_provider(server.port, gave_up=gave_up) for _ in range(8)], runs=5)
    accepted = 8 * 5 * 3 - len(gave_up)
    assert server.stats.rejected > 0 and len(gave_up) <= 8  # contention, and retries that mostly got through
    wait_for_spans(store, accepted)
    assert all(s.duplicates == 0 for s in store.snapshots())
    spooled = read_path(server.spool.proto_path).spans
    assert len(spooled) == accepted and len({(span.trace_id, span.span_id) for span in spooled}) == accepted
    assert server.stats.spans == accepted
    stored = {(s.trace_id, s.span_id) for snapshot in store.snapshots() for s in snapshot.spans}
    dropped = {(f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}") for span in gave_up}
    assert not stored & dropped and len(stored) == accepted


def test_the_request_bytes_are_spooled_as_received(grpc_receiver, client):
    server, store = grpc_receiver()
    body = LANGGRAPH_PB.read_bytes()
    code, response, _ = client(server.port)(body)
    assert code == grpc.StatusCode.OK and response == b""  # an empty ExportTraceServiceResponse
    wait_for_spans(store, 78)
    data = server.spool.proto_path.read_bytes()
    assert data == len(body).to_bytes(4, "big") + body  # not re-encoded


# -- every answer ---------------------------------------------------------------------------------------------------


def test_a_token_is_required_in_the_authorization_metadata(grpc_receiver, client):
    server, store = grpc_receiver(token="s3cret")
    call = client(server.port)
    for token in (None, "Bearer wrong", "s3cret", "Basic s3cret"):
        code, details, _ = call(request(1), token)
        assert code == grpc.StatusCode.UNAUTHENTICATED and "bearer token" in details
    for number, token in enumerate(("Bearer s3cret", "bearer s3cret", "BEARER  s3cret "), start=2):
        assert call(request(number), token)[0] == grpc.StatusCode.OK
    wait_for_spans(store, 3)
    assert server.stats.rejected == 4 and frames(server.spool.proto_path) == 3  # refused requests leave nothing


def test_over_the_size_limit_is_resource_exhausted_also_compressed_and_the_server_goes_on(grpc_receiver, client):
    server, store = grpc_receiver(max_body=2000)
    call = client(server.port)
    big = request(*range(1, 60))
    assert len(big) > 2000 and len(gzip.compress(big)) < 2000
    code, _, _ = call(big)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    code, _, _ = call(big, compression=grpc.Compression.Gzip)  # counted after decompression
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert call(request(1))[0] == grpc.StatusCode.OK
    wait_for_spans(store, 1)
    assert frames(server.spool.proto_path) == 1


def test_the_span_cap_is_resource_exhausted(grpc_receiver, client):
    server, _store = grpc_receiver(limits=ReceiverLimits(max_spans=10))
    code, details, _ = client(server.port)(request(*range(1, 12)))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "more than 10 spans" in details


def test_a_malformed_body_is_invalid_argument_and_the_server_goes_on(grpc_receiver, client):
    server, store = grpc_receiver()
    call = client(server.port)
    for garbage in (b"\xff\xff\xff\xff", b"\x0a\x05\x0a\x03", b"\x1b]0;owned\x07" * 10):
        code, details, _ = call(garbage)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "cannot decode" in details
        assert "\x1b" not in details and "\x07" not in details  # what a client sent is escaped in the answer
    assert call(request(1))[0] == grpc.StatusCode.OK
    wait_for_spans(store, 1)
    assert server.stats.rejected == 3 and frames(server.spool.proto_path) == 1  # the garbage left nothing


def test_a_bad_span_is_rejected_alone_with_partial_success(grpc_receiver, client):
    server, store = grpc_receiver()
    message = ExportTraceServiceRequest.FromString(request(1, 2, 3))
    message.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02"  # not a trace id
    code, response, _ = client(server.port)(message.SerializeToString())
    assert code == grpc.StatusCode.OK
    answer = ExportTraceServiceResponse.FromString(response)
    assert answer.partial_success.rejected_spans == 1 and answer.partial_success.error_message
    wait_for_spans(store, 2)
    assert server.stats.rejected_spans == 1


def test_a_full_ingest_queue_is_unavailable_with_retry_info_and_the_retry_is_stored_once(grpc_receiver, client):
    """The consumer is stuck: QUEUE_BATCHES requests are accepted (spooled, waiting), the next is UNAVAILABLE with
    RetryInfo (exporters retry it) and is not kept; once the consumer moves, the retry is stored once."""
    store, release = SpanStore(), threading.Event()

    def deliver(spans):
        release.wait(30)
        store.add(spans)

    server, _ = grpc_receiver(deliver=deliver)
    call = client(server.port)
    try:
        for number in range(1, QUEUE_BATCHES + 1):
            assert call(request(number))[0] == grpc.StatusCode.OK
        code, details, trailers = call(request(QUEUE_BATCHES + 1))
        assert code == grpc.StatusCode.UNAVAILABLE and "retry" in details
        from google.rpc.error_details_pb2 import RetryInfo

        delay = RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay
        assert 0.5 <= delay.seconds + delay.nanos / 1e9 <= 1.5
        assert frames(server.spool.proto_path) == QUEUE_BATCHES  # the refused request left nothing
    finally:
        release.set()
    wait_for_spans(store, QUEUE_BATCHES)
    assert call(request(QUEUE_BATCHES + 1))[0] == grpc.StatusCode.OK
    wait_for_spans(store, QUEUE_BATCHES + 1)
    assert frames(server.spool.proto_path) == QUEUE_BATCHES + 1


def test_saturated_decoders_answer_unavailable_at_once(grpc_receiver, client):
    """While a decode is stuck on the only small-lane worker, another request is refused before its message is
    read, and the server answers again once the worker is free."""
    server, store = grpc_receiver(limits=ReceiverLimits(workers=1, pending=1))
    release, entered = threading.Event(), threading.Event()
    process, stuck_body = server._process, request(99)

    def stuck(raw, label):
        if raw == stuck_body:
            entered.set()
            release.wait(20)
        return process(raw, label)

    server._process = stuck
    answers = []
    blocker = threading.Thread(target=lambda: answers.append(client(server.port)(stuck_body)))
    blocker.start()
    try:
        assert entered.wait(10)
        code, details, trailers = client(server.port)(request(1))
        assert code == grpc.StatusCode.UNAVAILABLE and "saturated" in details and "google.rpc.retryinfo-bin" in trailers
    finally:
        release.set()
        blocker.join(30)
    assert answers[0][0] == grpc.StatusCode.OK
    assert client(server.port)(request(1))[0] == grpc.StatusCode.OK
    wait_for_spans(store, 2)


def test_a_message_that_never_arrives_is_deadline_exceeded_and_frees_its_place(grpc_receiver, client):
    """A client that opens the call and sends nothing holds a decoder place for `body_timeout` only."""
    server, store = grpc_receiver(limits=ReceiverLimits(body_timeout=0.5, pending=1))
    hold = threading.Event()

    def nothing():
        hold.wait(20)
        yield from ()

    silent = client(server.port).channel.stream_unary(f"/{SERVICE}/{METHOD}", request_serializer=None, response_deserializer=None)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            silent(nothing(), timeout=20)
        assert refused.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "did not arrive" in refused.value.details()
    finally:
        hold.set()
    assert client(server.port)(request(1))[0] == grpc.StatusCode.OK
    wait_for_spans(store, 1)


def test_a_consumer_that_raises_costs_only_its_spans(grpc_receiver, client):
    store, reported = SpanStore(), []

    def deliver(spans):
        if any(span.name == "s13" for span in spans):
            raise TypeError("cannot show")
        store.add(spans)

    server, _ = grpc_receiver(deliver=deliver, report=lambda errors, _: reported.extend(errors))
    call = client(server.port)
    assert call(request(12, 13))[0] == grpc.StatusCode.OK
    assert call(request(14))[0] == grpc.StatusCode.OK
    wait_for_spans(store, 2)
    (error,) = reported
    assert "gRPC Export #1" in error.source and "TypeError" in error.message


# -- one ingest for both endpoints ----------------------------------------------------------------------------------


def test_http_and_grpc_share_one_spool_and_one_set_of_counts(receiver, grpc_receiver, client):
    http, store = receiver()
    server, _ = grpc_receiver(ingest=http.ingest)
    assert server.spool is http.spool
    assert client(server.port)(request(1, trace=1))[0] == grpc.StatusCode.OK
    assert httpx.post(http.endpoint, content=request(2, trace=2), headers=PROTOBUF).status_code == 200
    wait_for_spans(store, 2)
    assert http.stats.requests == 2 and server.stats is http.stats
    assert frames(http.spool.proto_path) == 2
    assert {span.name for span in read_path(http.spool.proto_path).spans} == {"s1", "s2"}


def fixture_requests() -> list:
    return sorted(DATA.rglob("*.otlp.pb"))[:6]


def test_check_json_is_the_same_through_grpc_http_and_the_file(tmp_path, receiver, grpc_receiver, client):
    """The same traces give the same `check --json` whether read from the file, or received over gRPC or HTTP and
    read back from the spool."""
    files = fixture_requests()
    assert len(files) >= 3
    http, http_store = receiver(spool=Spool(tmp_path / "via-http"))
    server, grpc_store = grpc_receiver(spool=Spool(tmp_path / "via-grpc"))
    call = client(server.port)
    for path in files:
        body = path.read_bytes()
        assert call(body)[0] == grpc.StatusCode.OK
        assert httpx.post(http.endpoint, content=body, headers=PROTOBUF).status_code == 200
    expected = sum(len(read_path(path).spans) for path in files)
    wait_for_spans(grpc_store, expected)
    wait_for_spans(http_store, expected)
    documents = []
    for source in ([str(path) for path in files], [str(server.spool.proto_path)], [str(http.spool.proto_path)]):
        code, out, err = run("check", "--json", "--fail-on", "critical", *source)
        assert code in (0, 1), err
        document = orjson.loads(out)
        assert document["errors"] == []
        documents.append(document)
    assert documents[0]["traces"] and documents[0] == documents[1] == documents[2]


# -- the command line -----------------------------------------------------------------------------------------------


def test_otlp_grpc_without_grpcio_exits_2_naming_the_extra():
    script = (
        "import sys; sys.modules['grpc'] = None\n"  # as if grpcio were not installed
        "from orchtui.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for argv in (["serve", "--otlp-grpc"], ["tail", "--otlp-grpc", "127.0.0.1:4999"]):
        done = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "pip install 'orchtui[grpc]'" in done.stderr and "Traceback" not in done.stderr


def test_otlp_and_otlp_grpc_cannot_share_a_port():
    code, _, err = run("serve", "--otlp", "127.0.0.1:4999", "--otlp-grpc", "127.0.0.1:4999")
    assert code == 2 and "cannot share port 4999" in err
    code, _, err = run("serve", "--otlp-grpc", "127.0.0.1:nope")
    assert code == 2 and "--otlp-grpc expects [HOST:]PORT" in err


def test_serve_whose_grpc_port_is_busy_exits_2_and_stops_the_http_endpoint(tmp_path):
    import socket

    before = {thread for thread in threading.enumerate() if thread.name.startswith("orchtui")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run("serve", "--otlp", "127.0.0.1:0", "--otlp-grpc", f"127.0.0.1:{port}", "--save", str(tmp_path / "s"))
    assert code == 2 and out == ""
    assert err.startswith(f"orchtui serve: cannot listen for OTLP/gRPC on 127.0.0.1:{port}: ") and err.count("\n") == 1
    assert {thread for thread in threading.enumerate() if thread.name.startswith("orchtui")} <= before  # HTTP one stopped


def test_a_grpc_port_in_use_is_an_error_not_a_shared_listener(grpc_receiver, tmp_path):
    first, _ = grpc_receiver()
    spool = Spool(tmp_path / "second")
    second = OtlpGrpcReceiver(SpanStore().add, port=first.port, spool=spool)
    with pytest.raises(OSError, match="cannot bind"):
        second.start()
    spool.write_proto(request(1))  # the spool stays the caller's to use or close
    spool.close()


def spooled_bytes(directory) -> int:
    return sum(path.stat().st_size for path in directory.glob("served*.otlp.*"))


def test_serve_with_otlp_grpc_spools_what_the_sdk_sends_and_says_when_the_cap_prunes(tmp_path):
    base = tmp_path / "served"
    process = subprocess.Popen(
        [sys.executable, "-m", "orchtui", "serve", "--otlp", "127.0.0.1:0", "--otlp-grpc", "127.0.0.1:0", "--save", str(base),
         "--spool-max", "6K"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()

    def said(pattern: str) -> re.Match | None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            found = re.search(pattern, "".join(lines))
            if found:
                return found
            time.sleep(0.02)
        return None

    try:
        started = said(r"OTLP/gRPC on grpc://127\.0\.0\.1:(\d+)")
        assert started, process.stderr.read() if process.poll() is not None else lines
        provider = sdk_grpc_provider(int(started.group(1)))
        for number in range(30):
            emit_agent_run(provider, f"run-{number}")
        provider.shutdown()  # every span acknowledged, so spooled
        assert said(r"spool cap 6 KiB: deleted \d+ oldest spool files? \("), lines
        deadline = time.monotonic() + 20  # the last roll-over's pruning may still be under way
        while spooled_bytes(tmp_path) > 6 * 1024 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(5)
    assert process.returncode == 0, process.stderr.read()
    assert "spool cap: 6 KiB over this base's files" in "".join(lines)
    kept = sorted(tmp_path.glob("served*.otlp.pb"))
    assert spooled_bytes(tmp_path) <= 6 * 1024 and len(kept) > 1
    spans = [span for path in kept for span in read_path(path).spans]
    assert "run-29" in {span.name for span in spans}  # the newest kept
    assert len({(span.trace_id, span.span_id) for span in spans}) == len(spans)  # each once


# -- the TUI --------------------------------------------------------------------------------------------------------


async def test_the_tui_lists_the_grpc_endpoint_and_tells_when_the_spool_cap_prunes(tmp_path):
    from orchtui.live import TraceIndex
    from orchtui.sources.base import STARTING
    from orchtui.sources.factory import sources_for
    from tests.tui.conftest import settle
    from tui.app import OrchApp
    from tui.screens.sources import SourcesScreen
    from tui.widgets.status_bar import StatusBar

    old = tmp_path / "tui.1.otlp.pb"  # an earlier rolled-over file of the same spool base, an hour old
    old.write_bytes(b"\x00" * 5000)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    sources = sources_for(otlp=("127.0.0.1", 0), otlp_grpc=("127.0.0.1", 0), spool=tmp_path / "tui", spool_max=SpoolCap(max_bytes=4096))
    app = OrchApp(TraceIndex(), save_dir=tmp_path, sources=sources)
    async with app.run_test(size=(120, 30)) as pilot:
        (source,) = app.sources
        for _ in range(200):  # the endpoints bind on the source's thread
            if source.status.state != STARTING:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        http, grpc_endpoint = (listener.endpoint for listener in source.listeners)
        assert grpc_endpoint is not None and grpc_endpoint.ingest is http.ingest
        port = grpc_endpoint.port
        code = await asyncio.to_thread(lambda: Client(port)(request(1))[0])
        assert code == grpc.StatusCode.OK
        for _ in range(100):
            await pilot.pause(0.05)
            if app.index.counts()["spans"] == 1 and not old.exists():
                break
        assert app.index.counts()["spans"] == 1
        assert not old.exists()  # over the cap: the older spool file went, and the app said so
        assert any(n.title == "spool cap" and "tui.1.otlp.pb" in n.message for n in app._notifications)
        await settle(pilot)
        assert f"otlp-grpc 127.0.0.1:{port}" in str(app.query_one(StatusBar).render())
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert isinstance(app.screen, SourcesScreen)
        sources = str(app.screen.query_one("#sources").render())
        assert f"grpc://127.0.0.1:{port}  no token" in sources and "otlp-grpc" in sources
        assert "1 request · 1 span accepted" in sources and "capped at 4 KiB; 1 old file deleted" in sources


def test_retry_delays_are_spread_so_refused_exporters_do_not_return_together():
    """The SDK exporters wait exactly the RetryInfo delay: a fixed one kept a crowd refused together in step."""
    from google.rpc.error_details_pb2 import RetryInfo

    from orchtui.sources.otlp_ingest import retry_after, retry_delay

    delays = [retry_delay() for _ in range(400)]
    assert all(0.5 <= delay <= 1.5 for delay in delays) and min(delays) < 0.6 and max(delays) > 1.4
    for delay in (0.5, 1.0, 1.234567891, 1.5):
        decoded = RetryInfo.FromString(retry_info(delay)).retry_delay
        assert decoded.seconds + decoded.nanos / 1e9 == pytest.approx(delay, abs=1e-9)
    assert {retry_after() for _ in range(400)} == {"1", "2"}  # HTTP's Retry-After counts whole seconds
