"""Write the trace-store responses in tests/data/remote/ (see README.md there).

    .venv/bin/python tests/data/remote/generate.py                       # source, Jaeger and Tempo files
    .venv/bin/python tests/data/remote/generate.py --phoenix PHOENIX_BIN  # also record real Phoenix pages

The source is tests/data/langgraph/langgraph-openinference.otlp.pb (four LangGraph runs recorded by the real
OpenInference instrumentor) with every time rounded to the microsecond (what Phoenix keeps) and the resource
attribute `openinference.project.name` (the Phoenix project the spans land in). Jaeger and Tempo answers are built
from it in the shapes their servers write (the encoders named below); Phoenix's pages are recorded from a real
`phoenix serve` the script starts on loopback.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FIXTURE = ROOT / "tests/data/langgraph/langgraph-openinference.otlp.pb"
PROJECT = "orchtui-contract"
PAGE = 30  # spans per Phoenix page: four traces of 7 to 39 spans take three pages


def source_request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    request.ParseFromString(FIXTURE.read_bytes())
    for resource_spans in request.resource_spans:
        resource_spans.resource.attributes.append(
            KeyValue(key="openinference.project.name", value=AnyValue(string_value=PROJECT))
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                span.start_time_unix_nano = _us(span.start_time_unix_nano)
                span.end_time_unix_nano = _us(span.end_time_unix_nano)
                for event in span.events:
                    event.time_unix_nano = _us(event.time_unix_nano)
    return request


def _us(ns: int) -> int:
    return (ns + 500) // 1000 * 1000


def by_trace(request: ExportTraceServiceRequest) -> dict[str, ExportTraceServiceRequest]:
    """One request per trace id (hex), each holding only that trace's spans, resources and scopes kept."""
    traces: dict[str, ExportTraceServiceRequest] = defaultdict(ExportTraceServiceRequest)
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out = traces[span.trace_id.hex()]
                rs = next((r for r in out.resource_spans if r.resource == resource_spans.resource), None)
                if rs is None:
                    rs = out.resource_spans.add()
                    rs.resource.CopyFrom(resource_spans.resource)
                    rs.schema_url = resource_spans.schema_url
                ss = next((s for s in rs.scope_spans if s.scope == scope_spans.scope), None)
                if ss is None:
                    ss = rs.scope_spans.add()
                    ss.scope.CopyFrom(scope_spans.scope)
                ss.spans.add().CopyFrom(span)
    return dict(traces)


def _walk_ids(document: object, convert) -> object:
    """Rewrite the id fields of an OTLP/JSON document in place with `convert(base64 text)`."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                document[key] = convert(value)
            else:
                _walk_ids(value, convert)
    elif isinstance(document, list):
        for item in document:
            _walk_ids(item, convert)
    return document


_KINDS = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
          "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def pdata_json(request: ExportTraceServiceRequest) -> dict:
    """TracesData as the collector's pdata `ptrace.JSONMarshaler` writes it (Jaeger's api_v3 encoder,
    internal/jptrace/traces.go MarshalJSONPB): lowerCamelCase, hex ids, 64-bit integers as strings, enums as
    numbers, empty `resource`/`scope` objects kept."""
    document = _walk_ids(MessageToDict(request), lambda text: base64.b64decode(text).hex())
    for rs in document.get("resourceSpans", []):
        rs.setdefault("resource", {})
        for ss in rs.get("scopeSpans", []):
            ss.setdefault("scope", {})
            for span in ss.get("spans", []):
                if "kind" in span:
                    span["kind"] = _KINDS[span["kind"]]
                status = span.get("status")
                if status and "code" in status:
                    status["code"] = _CODES[status["code"]]
    return document


def gogo_json(request: ExportTraceServiceRequest) -> dict:
    """The same data as gogo/protobuf jsonpb writes Tempo's tempopb messages (pkg/tempopb/trace_utils.go):
    lowerCamelCase, ids base64 (they are `bytes`), 64-bit integers as strings, enums by name, zero values left out."""
    return MessageToDict(request)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def write(path: Path, document: object, *, pretty: bool = False) -> None:
    text = json.dumps(document, indent=2 if pretty else None, separators=None if pretty else (",", ":"))
    path.write_text(text + ("\n" if pretty else ""))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")


def write_jaeger(traces: dict[str, ExportTraceServiceRequest]) -> None:
    out = HERE / "jaeger"
    out.mkdir(exist_ok=True)
    # GET /api/v3/traces: every trace found, each trace's ResourceSpans appended to one TracesData
    # (http_gateway.go returnTraces).
    combined = ExportTraceServiceRequest()
    for request in traces.values():
        combined.resource_spans.extend(request.resource_spans)
    write(out / "find-traces.json", {"result": pdata_json(combined)})
    # The same search through a grpc-gateway stream (jaeger-query 1.x api_v3): one `{"result": ...}` chunk per
    # trace, newline-delimited.
    lines = [json.dumps({"result": pdata_json(request)}, separators=(",", ":")) for request in traces.values()]
    (out / "find-traces.stream.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {(out / 'find-traces.stream.jsonl').relative_to(ROOT)}")
    # What the HTTP gateway answers (404) when nothing matched.
    (out / "no-traces.json").write_text(json.dumps({"error": {"httpCode": 404, "message": "No traces found"}}) + "\n")


def write_tempo(traces: dict[str, ExportTraceServiceRequest]) -> None:
    out = HERE / "tempo"
    out.mkdir(exist_ok=True)
    found = []
    for trace_id, request in traces.items():
        spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        root = next(span for span in spans if not span.parent_span_id)
        start = min(span.start_time_unix_nano for span in spans)
        end = max(span.end_time_unix_nano for span in spans)
        service = next(kv.value.string_value for kv in request.resource_spans[0].resource.attributes if kv.key == "service.name")
        matched = [
            {"spanID": span.span_id.hex(), "startTimeUnixNano": str(span.start_time_unix_nano),
             "durationNanos": str(span.end_time_unix_nano - span.start_time_unix_nano)}
            for span in spans[:3]
        ]
        metadata = {
            "traceID": trace_id.lstrip("0"),  # Tempo's util.TraceIDToHexString drops leading zeros
            "rootServiceName": service,
            "rootTraceName": root.name,
            "startTimeUnixNano": str(start),
            "durationMs": (end - start) // 1_000_000,
            "spanSet": {"spans": matched, "matched": len(spans)},
            "spanSets": [{"spans": matched, "matched": len(spans)}],
            "serviceStats": {service: {"spanCount": len(spans)}},
        }
        found.append(metadata)
        trace = gogo_json(request)["resourceSpans"]
        size = len(request.SerializeToString())
        # GET /api/v2/traces/<id>: TraceByIDResponse (modules/frontend/combiner/trace_by_id_v2.go), JSON and protobuf
        write(out / f"trace-{trace_id}.v2.json", {"trace": {"resourceSpans": trace}, "metrics": {"inspectedBytes": str(size)}})
        metrics = _varint(1 << 3) + _varint(size)  # TraceByIDMetrics.inspectedBytes = 1
        body = _field(1, request.SerializeToString()) + _field(2, metrics)  # Trace = repeated ResourceSpans (1)
        (out / f"trace-{trace_id}.v2.pb").write_bytes(body)
        # GET /api/traces/<id>: tempopb.Trace, JSON with resourceSpans renamed `batches` (MarshalToJSONV1)
        write(out / f"trace-{trace_id}.v1.json", {"batches": trace})
        (out / f"trace-{trace_id}.v1.pb").write_bytes(request.SerializeToString())
    found.sort(key=lambda t: int(t["startTimeUnixNano"]), reverse=True)  # the search combiner keeps the newest
    write(out / "search.json", {"traces": found, "metrics": {"inspectedTraces": len(found), "inspectedBytes": "220274",
                                                             "completedJobs": 1, "totalJobs": 1}}, pretty=True)


def record_phoenix(phoenix_bin: str, source: Path) -> None:
    """Start `phoenix serve` on loopback in a scratch directory, POST the source spans to its /v1/traces (the
    protobuf its receiver takes), then page `/v1/projects/<p>/spans/otlpv1` and save every page as served."""
    import httpx

    out = HERE / "phoenix"
    out.mkdir(exist_ok=True)
    port, grpc_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PHOENIX_WORKING_DIR": work, "PHOENIX_PORT": str(port), "PHOENIX_HOST": "127.0.0.1",
               "PHOENIX_GRPC_PORT": str(grpc_port), "PHOENIX_TELEMETRY_ENABLED": "false"}
        server = subprocess.Popen([phoenix_bin, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200, 120)
            answer = httpx.post(f"{base}/v1/traces", content=source.read_bytes(),
                                headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            answer.raise_for_status()
            total = sum(1 for _ in _spans(ExportTraceServiceRequest.FromString(source.read_bytes())))
            url = f"{base}/v1/projects/{PROJECT}/spans/otlpv1"
            _wait(lambda: len(httpx.get(url, params={"limit": 1000}, timeout=10).json()["data"]) == total, 60)
            cursor, number, queries = None, 1, []
            while True:
                params = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
                response = httpx.get(url, params=params, timeout=10)
                response.raise_for_status()
                (out / f"page-{number}.json").write_bytes(response.content)
                queries.append({"query": urlencode(params), "file": f"page-{number}.json"})
                print(f"recorded page {number}: {len(response.json()['data'])} spans")
                cursor = response.json()["next_cursor"]
                if not cursor:
                    break
                number += 1
            version = subprocess.run([str(Path(phoenix_bin).with_name("python")), "-c",
                                      "import importlib.metadata as m; print(m.version('arize-phoenix'))"],
                                     capture_output=True, text=True).stdout.strip()
            write(out / "pages.json", {"project": PROJECT, "page_size": PAGE, "arize_phoenix": version,
                                       "pages": queries}, pretty=True)
        finally:
            server.terminate()
            server.wait(30)


def _spans(request):
    return (span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(ready, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    raise SystemExit("phoenix did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phoenix", metavar="PHOENIX_BIN", help="record Phoenix pages from this `phoenix` executable")
    args = parser.parse_args()
    request = source_request()
    source = HERE / "source.otlp.pb"
    source.write_bytes(request.SerializeToString())
    print(f"wrote {source.relative_to(ROOT)}")
    traces = by_trace(request)
    write_jaeger(traces)
    write_tempo(traces)
    if args.phoenix:
        record_phoenix(args.phoenix, source)


if __name__ == "__main__":
    sys.exit(main())
