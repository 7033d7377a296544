"""Receiver throughput: OTLP/HTTP protobuf requests from concurrent clients, spans stored per second, zero loss.

Sends `--requests` protobuf `ExportTraceServiceRequest`s of `--spans-per-request` spans (OpenInference agent
spans, ~1 kB each) from `--clients` concurrent HTTP clients to an `OtlpReceiver` on loopback, with its spool on,
and counts spans/s until every span is in the store (any loss fails the run). The baseline, in the same run, is
the same load against a bare aiohttp handler that reads the body and answers 200: the HTTP floor on this machine.
Target: 100x the ~265 spans/s Arize Phoenix stored here, i.e. 26,500 spans/s or more.

Then latency under a big request: one client sends `--big` maximum-size requests back to back (just under the
20 MB body limit: ~19,000 such spans, decoded, spooled and stored; then as many of a hostile kind, ten million
empty spans, refused with 413 at the span cap; then JSON with as many empty objects as the message cap admits,
refused with 413 at the span cap after parsing) while another sends one-span requests one after the other; the
p50/p99/max latency of the small ones is printed. Target: p99 under 100 ms (decoding runs on worker threads,
never on the event loop).

With grpcio installed (the grpc extra), the same load also goes over OTLP/gRPC to the `--otlp-grpc` endpoint,
against its own floor in the same run: a bare grpcio asyncio server that takes the bytes and answers.

    python bench/receiver.py [--requests 400] [--spans-per-request 100] [--clients 4] [--big 3] [--no-grpc]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from orchtui.sources.otlp_http import DEFAULT_MAX_BODY, OtlpReceiver, ReceiverLimits, Spool  # noqa: E402
from orchtui.store import SpanStore  # noqa: E402

HEADERS = {"Content-Type": "application/x-protobuf"}


def request_body(number: int, spans: int) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    trace_id = number.to_bytes(16, "big")
    for index in range(spans):
        span = scope.spans.add()
        span.trace_id = trace_id
        span.span_id = (number * 10_000 + index + 1).to_bytes(8, "big")
        if index:
            span.parent_span_id = (number * 10_000 + 1).to_bytes(8, "big")
        span.name = "ChatOpenAI" if index % 2 else "lookup_policy"
        span.start_time_unix_nano = 1_760_000_000_000_000_000 + index * 1_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 500_000
        for key, value in (
            ("openinference.span.kind", "LLM" if index % 2 else "TOOL"),
            ("llm.model_name", "gpt-4o-mini"),
            ("input.value", "What is the refund policy for lost shipments? " * 8),
            ("output.value", "Lost shipments are refunded in full within 5 business days. " * 6),
        ):
            attribute = span.attributes.add()
            attribute.key = key
            attribute.value.string_value = value
    return request.SerializeToString()


def send_all(url: str, bodies: list[bytes], clients: int) -> float:
    """Send every body (split across `clients` threads); seconds until the last response."""
    failures = []

    def client(part: list[bytes]) -> None:
        with httpx.Client(timeout=30) as http:
            for body in part:
                response = http.post(url, content=body, headers=HEADERS)
                while response.status_code == 503:  # back-pressure: retry as OTLP clients do
                    time.sleep(float(response.headers.get("Retry-After", "0.1")) / 10)
                    response = http.post(url, content=body, headers=HEADERS)
                if response.status_code != 200:
                    failures.append(response.status_code)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, f"{len(failures)} requests failed: {set(failures)}"
    return time.perf_counter() - began


def send_all_grpc(port: int, bodies: list[bytes], clients: int) -> float:
    """`send_all` over OTLP/gRPC: raw bytes to TraceService/Export, UNAVAILABLE retried as the exporters do."""
    import grpc

    from orchtui.sources.otlp_grpc import METHOD, SERVICE

    failures = []

    def client(part: list[bytes], number: int) -> None:
        # Own channel options, so each client has its own connection (grpc shares identical channels' connections).
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("orchtui.bench.client", number)]) as channel:
            export = channel.unary_unary(f"/{SERVICE}/{METHOD}", request_serializer=None, response_deserializer=None)
            for body in part:
                while True:
                    try:
                        export(body, timeout=30)
                        break
                    except grpc.RpcError as error:
                        if error.code() != grpc.StatusCode.UNAVAILABLE:
                            failures.append(error.code())
                            break
                        time.sleep(0.1)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(bodies[i::clients], i)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, f"{len(failures)} requests failed: {set(failures)}"
    return time.perf_counter() - began


def grpc_floor_server() -> tuple[int, callable]:
    """A bare grpcio asyncio server taking the Export bytes and answering an empty response."""
    import grpc

    from orchtui.sources.otlp_grpc import METHOD, SERVICE

    ready = threading.Event()
    state: dict = {}

    async def export(request, context):
        return b""

    async def run():
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
        handler = grpc.unary_unary_rpc_method_handler(export)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),))
        state["port"] = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        await state["stop"].wait()
        await server.stop(None)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    ready.wait(10)

    def stop() -> None:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)

    return state["port"], stop


def grpc_throughput(bodies: list[bytes], total: int, clients: int) -> None:
    from orchtui.sources.otlp_grpc import OtlpGrpcReceiver

    port, stop_floor = grpc_floor_server()
    floor_seconds = send_all_grpc(port, bodies, clients)
    stop_floor()
    with tempfile.TemporaryDirectory() as tmp:
        store = SpanStore()
        receiver = OtlpGrpcReceiver(store.add, port=0, spool=Spool(Path(tmp) / "spool"))
        receiver.start()
        began = time.perf_counter()
        send_all_grpc(receiver.port, bodies, clients)
        while store.span_count < total and time.perf_counter() - began < 120:
            time.sleep(0.005)
        seconds = time.perf_counter() - began
        busy = receiver.stats.rejected
        receiver.stop()
    assert store.span_count == total, f"lost spans over gRPC: stored {store.span_count:,} of {total:,}"
    print(f"gRPC floor (take the bytes, answer): {total / floor_seconds:,.0f} spans/s")
    print(f"gRPC receiver: {total / seconds:,.0f} spans/s stored, zero loss ({busy:,} UNAVAILABLE answers retried), "
          f"{floor_seconds / seconds:.2f}x the gRPC floor's rate; {total / seconds / 265:,.0f}x Phoenix's ~265 spans/s")


def empty_spans_body(size: int) -> bytes:
    """A request of `size` bytes that is nothing but empty spans (2 bytes each)."""
    from google.protobuf.internal.encoder import _VarintBytes

    def field(number: int, payload: bytes) -> bytes:
        return _VarintBytes(number << 3 | 2) + _VarintBytes(len(payload)) + payload

    return field(1, field(2, b"\x12\x00" * ((size - 16) // 2)))


def big_body(kind: str) -> bytes:
    """A maximum-size request: valid agent spans, or nothing but empty spans."""
    if kind == "empty spans":
        return empty_spans_body(DEFAULT_MAX_BODY)
    if kind == "JSON empty objects":  # as many `{}` as the message cap lets through to the JSON parser
        count = ReceiverLimits().max_messages - 4
        return b'{"resourceSpans":[{"scopeSpans":[{"spans":[' + b",".join([b"{}"] * count) + b"]}]}]}"
    count = int(DEFAULT_MAX_BODY / (len(request_body(1, 100)) / 100))
    body = request_body(10**5, count)
    while len(body) > DEFAULT_MAX_BODY:  # the estimate per span is close: shave until the body fits the limit
        count = int(count * 0.99)
        body = request_body(10**5, count)
    return body


def small_latencies(url: str, kind: str, repeat: int) -> tuple[list[float], list[int], int]:
    """Seconds per one-span request while `repeat` maximum-size requests of `kind` are sent back to back by
    another client; the big requests' status codes and size. Runs in a child process, so the clients do not
    share the receiver's interpreter lock and only the receiver's own stalls are measured."""
    big = [big_body(kind)] * repeat
    small = request_body(10**6, 1)
    statuses: list[int] = []
    done = threading.Event()

    def send_big() -> None:
        with httpx.Client(timeout=120) as http:
            headers = HEADERS if kind != "JSON empty objects" else {"Content-Type": "application/json"}
            for body in big:
                statuses.append(http.post(url, content=body, headers=headers).status_code)
        done.set()

    sender = threading.Thread(target=send_big)
    latencies = []
    with httpx.Client(timeout=30) as http:
        http.post(url, content=small, headers=HEADERS)  # connection up before the clock starts
        sender.start()
        while not done.is_set():
            began = time.perf_counter()
            response = http.post(url, content=small, headers=HEADERS)
            latencies.append(time.perf_counter() - began)
            assert response.status_code == 200, response.status_code
    sender.join()
    return latencies, statuses, len(big[0])


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):.1f} ms, p99 {pick(0.99):.1f} ms, max {ordered[-1] * 1000:.1f} ms over {len(ordered):,} requests"


def floor_server() -> tuple[str, callable]:
    """A bare aiohttp endpoint that reads the body and answers 200 (no decoding, no storage)."""
    from aiohttp import web

    ready = threading.Event()
    state: dict = {}

    async def handle(request):
        await request.read()
        return web.Response(status=200, body=b"", content_type="application/x-protobuf")

    def serve():
        loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/v1/traces", handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        state["port"] = runner.addresses[0][1]
        state["loop"] = loop
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(10)
    return f"http://127.0.0.1:{state['port']}/v1/traces", lambda: state["loop"].call_soon_threadsafe(state["loop"].stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--spans-per-request", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--big", type=int, default=3, help="maximum-size requests of each kind for the latency run")
    parser.add_argument("--no-grpc", action="store_true", help="skip the OTLP/gRPC run")
    args = parser.parse_args()
    bodies = [request_body(number + 1, args.spans_per_request) for number in range(args.requests)]
    total = args.requests * args.spans_per_request
    print(f"{args.requests} requests x {args.spans_per_request} spans = {total:,} spans, {sum(map(len, bodies)) / 1e6:.1f} MB, {args.clients} clients")

    url, stop_floor = floor_server()
    floor_seconds = send_all(url, bodies, args.clients)
    stop_floor()

    with tempfile.TemporaryDirectory() as tmp:
        store = SpanStore()
        receiver = OtlpReceiver(store.add, port=0, spool=Spool(Path(tmp) / "spool"))
        receiver.start()
        began = time.perf_counter()
        send_all(receiver.endpoint, bodies, args.clients)
        while store.span_count < total and time.perf_counter() - began < 120:
            time.sleep(0.005)
        seconds = time.perf_counter() - began
        receiver.stop()
    assert store.span_count == total, f"lost spans: stored {store.span_count:,} of {total:,}"
    print(f"HTTP floor (read body, answer 200): {total / floor_seconds:,.0f} spans/s")
    print(f"receiver: {total / seconds:,.0f} spans/s stored, zero loss, {floor_seconds / seconds:.2f}x the HTTP floor's rate; "
          f"{total / seconds / 265:,.0f}x Phoenix's ~265 spans/s (target 100x)")

    from orchtui.sources.otlp_grpc import grpc_available

    if not args.no_grpc and grpc_available():
        grpc_throughput(bodies, total, args.clients)
    elif not args.no_grpc:
        print("gRPC: skipped (pip install 'orchtui[grpc]')")

    if not args.big:
        return
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(1, mp_context=get_context("spawn")) as clients:
        store = SpanStore()
        receiver = OtlpReceiver(store.add, port=0, spool=Spool(Path(tmp) / "spool"))
        receiver.start()
        for kind in ("valid", "empty spans", "JSON empty objects"):
            latencies, statuses, size = clients.submit(small_latencies, receiver.endpoint, kind, args.big).result()
            print(f"small requests while {args.big} x {size / 1e6:.1f} MB {kind} requests were handled "
                  f"(answered {sorted(set(statuses))}): {percentiles(latencies)} (target p99 < 100 ms)")
        receiver.stop()


if __name__ == "__main__":
    main()
