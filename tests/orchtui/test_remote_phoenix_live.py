"""`phoenix://` against a real Arize Phoenix (slow): `phoenix serve` on loopback, spans sent with the OpenTelemetry
SDK's OTLP/HTTP exporter, read back through `phoenix://` once (`check --json`, equal to the file's less the
service) and live (polls deliver what arrives, each span once).

arize-phoenix is large (a server, a database layer, a UI: hundreds of MB), so it is not in the test extra: the test
runs when a `phoenix` executable is found, from `ORCHTUI_PHOENIX_BIN`, else on PATH, else beside this Python
(`python -m venv /tmp/phx && /tmp/phx/bin/pip install arize-phoenix`, then `ORCHTUI_PHOENIX_BIN=/tmp/phx/bin/phoenix`),
and is skipped, saying so, otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from orchtui.remote import source_for
from tests.orchtui.remote_http import SOURCE, check_json, free_port, no_user_config

__all__ = ["no_user_config"]

pytestmark = pytest.mark.slow
PROJECT = "orchtui-live"


def _phoenix_bin() -> str | None:
    named = os.environ.get("ORCHTUI_PHOENIX_BIN")
    if named:
        return named if Path(named).exists() else None
    beside = Path(sys.executable).with_name("phoenix")
    return shutil.which("phoenix") or (str(beside) if beside.exists() else None)


@pytest.fixture(scope="module")
def phoenix_url(tmp_path_factory):
    binary = _phoenix_bin()
    if binary is None:
        pytest.skip("arize-phoenix is not installed: set ORCHTUI_PHOENIX_BIN to a `phoenix` executable "
                    "(python -m venv /tmp/phx && /tmp/phx/bin/pip install arize-phoenix)")
    import httpx

    port = free_port()
    work = tmp_path_factory.mktemp("phoenix")
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(work), "PHOENIX_PORT": str(port), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_GRPC_PORT": str(free_port()), "PHOENIX_TELEMETRY_ENABLED": "false"}
    env.pop("PHOENIX_API_KEY", None)
    log = (work / "phoenix.log").open("wb")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 180, "phoenix serve to start")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _until(ready, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = ready()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not there yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.5)


def _value(any_value):
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    return getattr(any_value, which) if which else None


def _sdk_spans(request: ExportTraceServiceRequest):
    """The source file's spans as the SDK's ReadableSpans: same ids, times, attributes, events, status."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    spans = []
    for rs in request.resource_spans:
        resource = Resource({kv.key: _value(kv.value) for kv in rs.resource.attributes} | {"openinference.project.name": PROJECT})
        for ss in rs.scope_spans:
            scope = InstrumentationScope(ss.scope.name, ss.scope.version)
            for span in ss.spans:
                trace_id = int.from_bytes(span.trace_id, "big")
                context = SpanContext(trace_id, int.from_bytes(span.span_id, "big"), False, TraceFlags(1))
                parent = (SpanContext(trace_id, int.from_bytes(span.parent_span_id, "big"), False, TraceFlags(1))
                          if span.parent_span_id else None)
                spans.append(ReadableSpan(
                    name=span.name, context=context, parent=parent, resource=resource,
                    attributes={kv.key: _value(kv.value) for kv in span.attributes},
                    events=[Event(e.name, {kv.key: _value(kv.value) for kv in e.attributes}, e.time_unix_nano) for e in span.events],
                    kind=SpanKind(max(span.kind - 1, 0)), instrumentation_scope=scope,
                    status=Status(StatusCode(span.status.code), span.status.message or None),
                    start_time=span.start_time_unix_nano, end_time=span.end_time_unix_nano,
                ))
    return spans


def _export(base: str, spans) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = OTLPSpanExporter(endpoint=f"{base}/v1/traces")
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()


def test_spans_sent_to_phoenix_read_back_once_and_live(phoenix_url):
    source_spans = _sdk_spans(ExportTraceServiceRequest.FromString(SOURCE.read_bytes()))
    url = f"phoenix://{phoenix_url.removeprefix('http://')}/{PROJECT}?since=all&lag=5m"
    _export(phoenix_url, source_spans)

    # once: every span stored (Phoenix inserts in the background), then check --json as from the file
    _until(lambda: sum(t["spans"] for t in check_json(url)[1]["traces"]) == 78, 60, "Phoenix to store the 78 spans")
    code, document, err = check_json(url)
    _, expected, _ = check_json(str(SOURCE))
    for trace in expected["traces"]:
        trace["service"] = None  # Phoenix keeps no resource attributes
    assert (code, err) == (1, "") and document == expected

    # live: a fresh source's first poll has everything; spans sent later come once each
    live = source_for(url)
    first = [span for result in live.poll() for span in result.spans]
    assert len(first) == 78 and len({(s.trace_id, s.span_id) for s in first}) == 78
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource({"openinference.project.name": PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix_url}/v1/traces")))
    tracer = provider.get_tracer("orchtui-test")
    with tracer.start_as_current_span("agent", attributes={"openinference.span.kind": "AGENT"}):
        with tracer.start_as_current_span("ChatOpenAI", attributes={
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 11, "llm.token_count.completion": 3, "llm.finish_reason": "stop",
        }):
            pass
    provider.shutdown()

    arrived = []
    _until(lambda: arrived.extend(span for result in live.poll() for span in result.spans) or len(arrived) >= 2,
           60, "the live poll to deliver the two new spans")
    assert sorted(s.name for s in arrived) == ["ChatOpenAI", "agent"]
    llm = next(s for s in arrived if s.name == "ChatOpenAI")
    assert (llm.kind, llm.model, llm.tokens.prompt, llm.tokens.completion) == ("llm", "gpt-4o-mini", 11, 3)
    assert [span for result in live.poll() for span in result.spans] == []
    live.close()
