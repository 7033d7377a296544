"""`tempo://` against a loopback server answering as Grafana Tempo's HTTP API does (tests/data/remote/tempo):
search, then each trace fetched by id as protobuf; the same `check --json` as the source file; the v1 fallback;
credentials and tenant from the environment; live polls that fetch only what changed."""

from __future__ import annotations

import base64
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from orchtui.remote import source_for
from tests.orchtui.remote_http import REMOTE, SOURCE, Answer, check_json, json_answer, no_user_config, run, serve

__all__ = ["no_user_config"]

TEMPO = REMOTE / "tempo"
SEARCH = json.loads((TEMPO / "search.json").read_text())
IDS = [trace["traceID"] for trace in SEARCH["traces"]]  # newest first
PROTOBUF = "application/protobuf"
BROKEN = "0" * 31 + "2"  # a trace the fake Tempo fails to fetch


def _field(number: int, payload: bytes) -> bytes:
    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            out.append(value & 0x7F | (0x80 if value >> 7 else 0))
            value >>= 7
            if not value:
                return bytes(out)

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def tempo(search=None, *, v2=True, json_only=False, trace_body=None):
    """A Tempo: `/api/search` answers `search`, traces come from the recorded files (v2 or only v1)."""

    def answer(request):
        if request.path == "/api/search":
            return json_answer(search or SEARCH)
        for prefix, version in (("/api/v2/traces/", "v2"), ("/api/traces/", "v1")):
            if request.path.startswith(prefix):
                if version == "v2" and not v2:
                    return Answer(404, b"404 page not found\n", "text/plain; charset=utf-8")
                trace_id = request.path.removeprefix(prefix)
                if trace_id == BROKEN:
                    return Answer(500, b"failed to get trace: context deadline exceeded", "text/plain")
                if not (TEMPO / f"trace-{trace_id}.v1.pb").exists():  # as Tempo answers a trace it does not have
                    return Answer(200, b"", PROTOBUF) if version == "v2" else Answer(404, b"trace not found", "text/plain")
                if trace_body is not None and trace_body(trace_id) is not None:
                    return Answer(200, trace_body(trace_id), PROTOBUF)
                if json_only or request.headers.get("accept") != PROTOBUF:
                    return Answer(200, (TEMPO / f"trace-{trace_id}.{version}.json").read_bytes())
                return Answer(200, (TEMPO / f"trace-{trace_id}.{version}.pb").read_bytes(), PROTOBUF)
        return Answer(404, b"404 page not found\n", "text/plain")

    return answer


@pytest.mark.parametrize("options", [{}, {"v2": False}, {"json_only": True}], ids=["v2 protobuf", "v1 protobuf", "json"])
def test_check_over_tempo_searches_then_fetches_each_trace_and_equals_check_over_the_file(options):
    with serve(tempo(**options)) as store:
        code, document, err = check_json(f"tempo://127.0.0.1:{store.port}?q=%7Bresource.service.name%3D%22vendor-assistant%22%7D&since=30m&limit=20")
    _, expected, _ = check_json(str(SOURCE))
    assert err == "" and document == expected and len(document["traces"]) == 4
    search, *fetches = store.requests
    assert search.path == "/api/search"
    assert search.param("q") == '{resource.service.name="vendor-assistant"}' and search.param("limit") == "20"
    assert int(search.param("end")) - int(search.param("start")) == 30 * 60 + 1  # Unix seconds, as Tempo reads them
    expected_paths = {f"/api/v2/traces/{i}" for i in IDS} if options.get("v2", True) else {f"/api/traces/{i}" for i in IDS}
    if not options.get("v2", True):  # the first v2 fetch found no route; Tempo < 2.5 has only /api/traces
        assert sum(r.path.startswith("/api/v2/") for r in fetches) <= 4 and fetches[-1].path.startswith("/api/traces/")
    assert {r.path for r in fetches} >= expected_paths
    assert {r.headers["accept"] for r in fetches} == {PROTOBUF}


def test_a_partial_trace_a_missing_one_and_a_failed_fetch_are_said_and_the_rest_is_read():
    partial = IDS[0]

    def body(trace_id):
        if trace_id == partial:
            trace = (TEMPO / f"trace-{trace_id}.v1.pb").read_bytes()
            return _field(1, trace) + bytes([3 << 3, 1]) + _field(4, b"Trace exceeds maximum size of 50 bytes\x1b[2J")
        return None

    search = {"traces": SEARCH["traces"] + [{"traceID": "0" * 31 + "1", "startTimeUnixNano": "2"},
                                            {"traceID": BROKEN, "startTimeUnixNano": "1"}]}
    with serve(tempo(search, trace_body=body)) as store:
        code, document, err = check_json(f"tempo://127.0.0.1:{store.port}")
    label = f"tempo://127.0.0.1:{store.port}"
    assert len(document["traces"]) == 4
    assert document["errors"] == [
        {"source": f"{label} trace {partial}",
         "message": "Tempo returned a partial trace: Trace exceeds maximum size of 50 bytes\\x1b[2J; spans kept"},
        {"source": f"{label} trace {'0' * 31}1",
         "message": "not found (the search named it; it may have been deleted, or not flushed yet)"},
        {"source": f"{label} trace {BROKEN}",
         "message": f"HTTP 500 on /api/v2/traces/{BROKEN}: failed to get trace: context deadline exceeded"},
    ]


def test_ids_that_are_not_hex_are_never_put_in_a_path():
    search = {"traces": [{"traceID": "../../admin"}, {"traceID": "ab/../cd"}, SEARCH["traces"][0]]}
    with serve(tempo(search)) as store:
        code, document, _ = check_json(f"tempo://127.0.0.1:{store.port}")
    assert store.paths() == ["/api/search", f"/api/v2/traces/{IDS[0]}"] and len(document["traces"]) == 1


def test_credentials_and_tenant_from_the_environment_never_from_the_url(monkeypatch):
    monkeypatch.setenv("ORCHTUI_TEMPO_USER", "12345")
    monkeypatch.setenv("ORCHTUI_TEMPO_PASSWORD", "glc_secret")
    with serve(tempo()) as store:
        check_json(f"tempo://127.0.0.1:{store.port}?tenant=team-a")
        code, out, err = run("check", f"tempo://12345:glc_secret@127.0.0.1:{store.port}")
    assert code == 2 and "glc_secret" not in out + err and "ORCHTUI_TEMPO_PASSWORD" in err
    expected = "Basic " + base64.b64encode(b"12345:glc_secret").decode()
    assert {r.headers["authorization"] for r in store.requests} == {expected}
    assert {r.headers["x-scope-orgid"] for r in store.requests} == {"team-a"}
    monkeypatch.setenv("ORCHTUI_TEMPO_TOKEN", "tok")
    with serve(tempo()) as store:
        check_json(f"tempo://127.0.0.1:{store.port}")
    assert {r.headers["authorization"] for r in store.requests} == {"Bearer tok"}
    assert not any("x-scope-orgid" in r.headers for r in store.requests)


def test_an_empty_search_is_no_traces():
    with serve(tempo({"traces": [], "metrics": {}})) as store:
        code, document, err = check_json(f"tempo://127.0.0.1:{store.port}")
    assert code == 2 and document["errors"] == [] and err == f"orchtui check: no traces in tempo://127.0.0.1:{store.port}\n"


def test_live_polls_fetch_only_traces_the_search_says_changed_and_deliver_new_spans_once():
    search = json.loads(json.dumps(SEARCH))
    grown = {}
    with serve(tempo(search, trace_body=grown.get)) as store:
        source = source_for(f"tempo://127.0.0.1:{store.port}?since=1h&lag=2m")
        first = [span for result in source.poll() for span in result.spans]
        again = [span for result in source.poll() for span in result.spans]
        fetched_again = [r.path for r in store.requests[5:]]
        # one trace grows by a span: the search says so, and only that trace is fetched again
        trace_id = IDS[1]
        request = ExportTraceServiceRequest.FromString((TEMPO / f"trace-{trace_id}.v1.pb").read_bytes())
        spans = request.resource_spans[0].scope_spans[0].spans
        late = spans.add()
        late.CopyFrom(spans[0])
        late.span_id, late.name = bytes.fromhex("00000000000000ab"), "late step"
        grown[trace_id] = _field(1, request.SerializeToString())
        search["traces"][1]["serviceStats"]["vendor-assistant"]["spanCount"] += 1
        third = [span for result in source.poll() for span in result.spans]
        source.close()
    assert len(first) == 78 and again == [] and fetched_again == ["/api/search"]
    assert [(s.span_id, s.name) for s in third] == [("00000000000000ab", "late step")]
    assert [r.path for r in store.requests[6:]] == ["/api/search", f"/api/v2/traces/{trace_id}"]
    first_search, second_search = store.requests[0], store.requests[5]
    assert int(first_search.param("end")) - int(second_search.param("start")) == 120 + 1  # lag, in whole seconds
