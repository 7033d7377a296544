"""`jaeger://` against a loopback server answering as Jaeger v2's api/v3 HTTP gateway does (tests/data/remote):
the query orchtui sends (snake_case parameters, the time window, the count), the same `check --json` as the file
the answer was built from, errors as exit status 2, and live polls that deliver each span once."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from orchtui.remote import source_for
from tests.orchtui.remote_http import REMOTE, SOURCE, Answer, check_json, free_port, json_answer, no_user_config, run, serve

__all__ = ["no_user_config"]

FIND = (REMOTE / "jaeger/find-traces.json").read_bytes()
STREAM = (REMOTE / "jaeger/find-traces.stream.jsonl").read_bytes()
NO_TRACES = (REMOTE / "jaeger/no-traces.json").read_bytes()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _finds(store):
    return [r for r in store.requests if r.path == "/api/v3/traces"]


@pytest.mark.parametrize("body", [FIND, STREAM], ids=["one answer", "streamed lines"])
def test_check_over_jaeger_equals_check_over_the_file_and_the_query_is_snake_case(body):
    with serve(lambda request: Answer(200, body)) as store:
        url = f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&since=15m&limit=25"
        code, document, err = check_json(url)
    assert (code, err) == (1, "")  # the source traces hold critical findings (a loop), as from the file
    file_code, expected, _ = check_json(str(SOURCE))
    assert document == expected and code == file_code
    assert len(document["traces"]) == 4
    (request,) = store.requests
    assert request.path == "/api/v3/traces"
    assert set(request.query) == {"query.service_name", "query.start_time_min", "query.start_time_max", "query.num_traces"}
    assert request.param("query.service_name") == "vendor-assistant"
    assert request.param("query.num_traces") == "25"
    window = _time(request.param("query.start_time_max")) - _time(request.param("query.start_time_min"))
    assert window.total_seconds() == 15 * 60 + 1  # since, and the second the read began in
    assert request.param("query.start_time_min").endswith("Z") and "." in request.param("query.start_time_min")
    assert request.headers["accept"] == "application/json" and "authorization" not in request.headers


def test_without_a_service_every_service_is_searched_and_the_limit_counts_across_them():
    def answer(request):
        if request.path == "/api/v3/services":
            return json_answer({"services": ["vendor-assistant", "billing"]})
        if request.param("query.service_name") == "billing":
            return Answer(404, NO_TRACES, "text/plain; charset=utf-8")
        return Answer(200, FIND)

    with serve(answer) as store:
        code, document, err = check_json(f"jaeger://127.0.0.1:{store.port}?limit=3&operation=agent")
    assert store.paths() == ["/api/v3/services", "/api/v3/traces", "/api/v3/traces"]
    assert [r.param("query.service_name") for r in _finds(store)] == ["vendor-assistant", "billing"]
    assert [r.param("query.operation_name") for r in _finds(store)] == ["agent", "agent"]
    assert len(document["traces"]) == 3 and document["errors"] == []  # four in the answer, three asked for


def test_no_traces_found_is_no_traces_not_an_error():
    with serve(lambda request: Answer(404, NO_TRACES, "text/plain; charset=utf-8")) as store:
        code, document, err = check_json(f"jaeger://127.0.0.1:{store.port}?service=s")
    assert code == 2 and document == {"version": 1, "traces": [], "errors": []}
    assert err == f"orchtui check: no traces in jaeger://127.0.0.1:{store.port}?service=s\n"


def test_a_token_from_the_environment_is_sent_and_a_token_in_the_url_is_refused(monkeypatch):
    monkeypatch.setenv("ORCHTUI_JAEGER_TOKEN", "s3cret-token")
    with serve(lambda request: Answer(200, FIND)) as store:
        check_json(f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant")
        assert store.requests[0].headers["authorization"] == "Bearer s3cret-token"
        for url in (f"jaeger://admin:hunter2@127.0.0.1:{store.port}?service=s", f"jaeger://127.0.0.1:{store.port}?token=hunter2"):
            code, out, err = run("check", url)
            assert code == 2 and "hunter2" not in out + err
            assert "would show in argv" in err and "ORCHTUI_JAEGER_TOKEN" in err
    assert len(store.requests) == 1


def test_server_errors_and_refused_connections_are_exit_2_with_escaped_text_never_a_traceback():
    hostile = "\x1b]52;c;cGF3bmVk\x07 storage down \u202e"
    with serve(lambda request: Answer(500, f'{{"error": {{"httpCode": 500, "message": "{hostile}"}}}}'.encode())) as store:
        code, out, err = run("check", f"jaeger://127.0.0.1:{store.port}?service=s")
    assert code == 2 and out == ""
    assert "HTTP 500 on /api/v3/traces" in err and "\\x1b]52;c;cGF3bmVk\\x07 storage down \\u202e" in err
    assert "\x1b" not in err and "\u202e" not in err and "Traceback" not in err
    code, out, err = run("check", f"jaeger://127.0.0.1:{free_port()}?service=s")
    assert code == 2 and "cannot connect" in err and "Traceback" not in err
    code, document, err = check_json(f"jaeger://127.0.0.1:{free_port()}?service=s")
    assert code == 2 and document["errors"][0]["message"].startswith("cannot connect")


def test_a_bad_record_in_the_answer_costs_only_itself():
    lines = STREAM.splitlines()
    body = b"\n".join([lines[0], b'{"result": {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "no ids"}]}]}]}}',
                       b"{not json", *lines[1:]])
    with serve(lambda request: Answer(200, body)) as store:
        code, document, _ = check_json(f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant")
    assert len(document["traces"]) == 4
    label = f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant service=vendor-assistant"
    assert [(e["source"], e["message"].split(":")[0]) for e in document["errors"]] == [
        (f"{label}:2", "span 0"), (f"{label}:3", "not valid JSON"),
    ]


def test_live_polls_deliver_each_span_once_and_look_back_lag_before_the_previous_poll():
    answer = {"body": FIND}
    with serve(lambda request: Answer(200, answer["body"])) as store:
        source = source_for(f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant&since=1h&lag=1m")
        assert source.label == f"jaeger://127.0.0.1:{store.port}?service=vendor-assistant"
        first = [span for result in source.poll() for span in result.spans]
        again = [span for result in source.poll() for span in result.spans]
        document = json.loads(FIND)
        spans = document["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        spans.append(dict(spans[0], spanId="00000000000000aa", name="late step"))
        answer["body"] = json.dumps(document).encode()
        late = [span for result in source.poll() for span in result.spans]
        source.close()
    assert len(first) == 78 and again == [] and [(s.span_id, s.name) for s in late] == [("00000000000000aa", "late step")]
    one, two, _ = _finds(store)
    assert (_time(one.param("query.start_time_max")) - _time(one.param("query.start_time_min"))).total_seconds() == 3601
    # the second poll starts `lag` before the first one did (the first's end is its start + 1 s)
    assert (_time(one.param("query.start_time_max")) - _time(two.param("query.start_time_min"))).total_seconds() == 61


def test_https_scheme_and_the_label_keep_no_secret():
    source = source_for("jaeger+https://jaeger.internal:443?service=a%20b&since=2h")
    assert source.url.base_url == "https://jaeger.internal:443" and source.label == "jaeger+https://jaeger.internal:443?service=a b"
    assert source.url.since_s == 7200


def test_open_refuses_a_bad_store_url_before_the_ui_starts():
    code, out, err = run("open", "jaeger://admin:hunter2@127.0.0.1:1?service=s")
    assert code == 2 and "hunter2" not in out + err
    assert err.startswith("orchtui: jaeger://127.0.0.1:1: credentials in a URL would show in argv")
    code, out, err = run("open", "jaegr://127.0.0.1:1")
    assert code == 2 and "unknown store scheme jaegr://" in err


def test_jaeger_https_checks_the_certificate_against_ssl_cert_file(tmp_path, monkeypatch):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to serve TLS with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with serve(lambda request: Answer(200, FIND), tls=(str(cert), str(key))) as store:
        url = f"jaeger+https://127.0.0.1:{store.port}?service=vendor-assistant"
        code, out, err = run("check", url)  # a self-signed certificate no bundle vouches for
        assert code == 2 and "CERTIFICATE_VERIFY_FAILED" in err and store.requests == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        code, document, err = check_json(url)
    assert err == "" and len(document["traces"]) == 4 and len(store.requests) == 1
