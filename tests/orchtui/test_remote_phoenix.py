"""`phoenix://` against a loopback server: the pages a real Phoenix served (tests/data/remote/phoenix) replayed by
cursor, and a small Phoenix that pages its spans as the real endpoint does (row id descending, `limit + 1` rows,
the extra row's global id as `next_cursor`) for the live and limit cases. The same `check --json` as the source
file, less what Phoenix does not keep (the resource, so the service)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest

from orchtui.remote import phoenix, source_for
from tests.orchtui.remote_http import REMOTE, SOURCE, Answer, check_json, json_answer, no_user_config, run, serve

__all__ = ["no_user_config"]

PAGES = json.loads((REMOTE / "phoenix/pages.json").read_text())
PROJECT = PAGES["project"]
RECORDED = [(REMOTE / "phoenix" / page["file"]).read_bytes() for page in PAGES["pages"]]
SPANS = [span for body in RECORDED for span in json.loads(body)["data"]]  # newest first, as Phoenix pages them


def recorded_phoenix(request):
    """The recorded pages, each answered for the cursor the previous page named."""
    assert request.path == f"/v1/projects/{PROJECT}/spans/otlpv1"
    cursors = [None] + [json.loads(body)["next_cursor"] for body in RECORDED[:-1]]
    return Answer(200, RECORDED[cursors.index(request.param("cursor"))])


def _expected_from_the_file():
    _, document, _ = check_json(str(SOURCE))
    for trace in document["traces"]:
        trace["service"] = None  # Phoenix keeps no resource attributes: service.name does not come back
    return document


def test_check_over_phoenix_pages_by_cursor_and_equals_check_over_the_file(monkeypatch):
    monkeypatch.setenv("PHOENIX_API_KEY", "px-key-1")
    with serve(recorded_phoenix) as store:
        code, document, err = check_json(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=2h")
    assert err == "" and document == _expected_from_the_file() and len(document["traces"]) == 4
    assert [r.param("cursor") for r in store.requests] == [None, "U3Bhbjo0OA==", "U3BhbjoxOA=="]
    for request in store.requests:
        assert request.param("limit") == "1000" and request.headers["authorization"] == "Bearer px-key-1"
        assert set(request.query) <= {"limit", "start_time", "cursor"}
    (start,) = {r.param("start_time") for r in store.requests}
    assert datetime.fromisoformat(start.replace("Z", "+00:00")).tzinfo is not None  # Phoenix wants an aware time


def test_since_all_sends_no_start_time_and_no_key_sends_no_authorization():
    with serve(recorded_phoenix) as store:
        code, document, err = check_json(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
    assert len(document["traces"]) == 4
    assert all(r.param("start_time") is None and "authorization" not in r.headers for r in store.requests)


class SmallPhoenix:
    """Phoenix's otlpv1 paging over a list of span objects (row ids in insertion order)."""

    def __init__(self, spans):
        self.rows = list(enumerate(reversed(spans), 1))  # the oldest first: ids grow as Phoenix stores them

    def add(self, span):
        self.rows.append((len(self.rows) + 1, span))

    def __call__(self, request):
        if request.path == "/v1/projects":
            return json_answer({"data": [{"name": "default", "id": "UHJvamVjdDox"}, {"name": PROJECT, "id": "UHJvamVjdDoy"}],
                                "next_cursor": None})
        if request.path != f"/v1/projects/{PROJECT}/spans/otlpv1":
            return json_answer({"detail": "Project not found"}, 404)
        limit = int(request.param("limit"))
        assert 0 < limit <= 1000
        cursor = request.param("cursor")
        top = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else None
        rows = [row for row in reversed(self.rows) if top is None or row[0] <= top][: limit + 1]
        next_cursor = base64.b64encode(f"Span:{rows[-1][0]}".encode()).decode() if len(rows) == limit + 1 else None
        return json_answer({"data": [span for _, span in rows[:limit]], "next_cursor": next_cursor})


def _traces_in(spans):
    counts = {}
    for span in spans:
        counts[span["trace_id"]] = counts.get(span["trace_id"], 0) + 1
    return counts


def test_limit_counts_traces_and_keeps_each_chosen_trace_whole(monkeypatch):
    monkeypatch.setattr(phoenix, "PAGE", 10)
    server = SmallPhoenix(SPANS)
    with serve(server) as store:
        code, document, _ = check_json(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?limit=1&since=all")
    newest = SPANS[0]["trace_id"]
    (trace,) = document["traces"]
    assert trace["trace_id"] == newest and trace["spans"] == _traces_in(SPANS)[newest]
    # reading stopped at the first page without a span of the chosen trace, not at the end of the project
    pages_with_it = 1 + max(i for i, span in enumerate(SPANS) if span["trace_id"] == newest) // 10
    assert len(store.requests) == pages_with_it + 1 < -(-len(SPANS) // 10)


def test_live_polls_read_newest_first_down_to_the_first_span_already_delivered(monkeypatch):
    monkeypatch.setattr(phoenix, "PAGE", 10)
    server = SmallPhoenix(SPANS)
    with serve(server) as store:
        source = source_for(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all&lag=5m")
        first = [span for result in source.poll() for span in result.spans]
        reads = len(store.requests)
        quiet = [span for result in source.poll() for span in result.spans]
        for number in range(3):
            server.add(dict(SPANS[0], span_id=f"{number + 0xa0:016x}", name=f"late {number}"))
        late = [span for result in source.poll() for span in result.spans]
        source.close()
    assert len(first) == 78 and reads == 8 and quiet == []
    assert [s.name for s in late] == ["late 2", "late 1", "late 0"]
    assert len(store.requests) == reads + 2  # one page each: it held a span already delivered
    assert store.requests[reads].param("start_time") is not None  # later polls look back `lag` only


def test_an_unknown_project_names_the_projects_there_are():
    with serve(SmallPhoenix(SPANS)) as store:
        code, out, err = run("check", f"phoenix://127.0.0.1:{store.port}/missing%20project")
    assert code == 2 and out == ""
    assert err == (f"orchtui: phoenix://127.0.0.1:{store.port}/missing%20project: no project 'missing project' "
                   f"(projects: default, {PROJECT})\n")
    assert store.paths() == ["/v1/projects/missing%20project/spans/otlpv1", "/v1/projects"]


def test_unauthorized_is_exit_2_and_the_key_is_never_in_a_url(monkeypatch):
    with serve(lambda request: json_answer({"detail": "Invalid token"}, 401)) as store:
        code, out, err = run("check", f"phoenix://127.0.0.1:{store.port}/{PROJECT}")
        assert code == 2 and "HTTP 401" in err and "not authorized" in err and "Invalid token" in err
        code, out, err = run("check", f"phoenix://127.0.0.1:{store.port}/{PROJECT}?api_key=px-123")
        assert code == 2 and "px-123" not in err and "PHOENIX_API_KEY" in err
        assert len(store.requests) == 1


@pytest.mark.parametrize("body", [b"<html>proxy error</html>", b'{"detail": "nope"}', b'{"data": "x", "next_cursor": null}'])
def test_an_answer_that_is_not_a_span_page_is_exit_2(body):
    with serve(lambda request: Answer(200, body)) as store:
        code, out, err = run("check", f"phoenix://127.0.0.1:{store.port}/{PROJECT}")
    assert code == 2 and "page 1 is not" in err and "Traceback" not in err


def test_the_api_key_may_come_from_the_config_file(tmp_path):
    (tmp_path / "no-config.toml").write_text('[remote.phoenix]\napi_key = "from-config"\n')  # ORCHTUI_CONFIG's file
    with serve(recorded_phoenix) as store:
        check_json(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
    assert {r.headers["authorization"] for r in store.requests} == {"Bearer from-config"}


def test_hostile_text_from_the_store_is_shown_escaped():
    span = dict(SPANS[-1], name="\x1b]0;pwned\x07 step \u202e", span_id="00000000000000ee", parent_span_id=None,
                trace_id="ee" * 16)
    with serve(SmallPhoenix([span])) as store:
        code, out, err = run("check", f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
        json_code, document, _ = check_json(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
    assert "\\x1b]0;pwned\\x07 step \\u202e" in out and "\x1b" not in out and "\u202e" not in out
    assert document["traces"][0]["name"] == "\x1b]0;pwned\x07 step \u202e"  # the data itself, JSON-escaped on output


# -- live polls: a small newest-first page, further pages only while everything on one is new -----------------------


def _late(number: int):
    return dict(SPANS[0], span_id=f"{number + 0x1000:016x}", name=f"late {number}")


def _delivered(source):
    return [span for result in source.poll() for span in result.spans]


def test_a_live_poll_asks_for_a_small_page_and_an_idle_project_costs_one_request_a_poll():
    server = SmallPhoenix(SPANS)
    with serve(server) as store:
        source = source_for(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
        assert len(_delivered(source)) == 78
        assert [r.param("limit") for r in store.requests] == ["1000"]  # the first read: full pages
        reads = len(store.requests)
        for _ in range(3):
            assert _delivered(source) == []
        server.add(_late(0))
        late = _delivered(source)
        source.close()
    live = store.requests[reads:]
    assert [r.param("limit") for r in live] == [str(phoenix.LIVE_PAGE)] * 4 and phoenix.LIVE_PAGE <= 50
    assert all(r.param("cursor") is None for r in live)
    assert [s.name for s in late] == ["late 0"]


def test_default_live_interval_is_short_and_interval_in_the_url_wins():
    assert source_for("phoenix://127.0.0.1:6006/p").interval == phoenix.LIVE_INTERVAL_S <= 0.5
    assert source_for("phoenix://127.0.0.1:6006/p?interval=2s").interval == 2.0
    assert source_for("phoenix://127.0.0.1:6006/p?since=1h&interval=250ms").interval == 0.25


def test_a_burst_of_several_small_pages_between_polls_is_read_whole_once(monkeypatch):
    monkeypatch.setattr(phoenix, "LIVE_PAGE", 5)
    monkeypatch.setattr(phoenix, "PAGE", 10)
    server = SmallPhoenix(SPANS)
    with serve(server) as store:
        source = source_for(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all&lag=5m")
        first = _delivered(source)
        reads = len(store.requests)
        for number in range(23):  # more than four small pages, two full ones
            server.add(_late(number))
        burst = _delivered(source)
        after = len(store.requests)
        quiet = _delivered(source)
        source.close()
    assert len(first) == 78
    assert [s.name for s in burst] == [f"late {n}" for n in reversed(range(23))]  # none lost, newest first
    keys = [(s.trace_id, s.span_id) for s in first + burst]
    assert len(keys) == len(set(keys))  # none twice
    # a small page all new -> a full page all new -> a full page reaching what was delivered: stop there
    assert [r.param("limit") for r in store.requests[reads:after]] == ["5", "10", "10"]
    assert store.requests[reads].param("cursor") is None and all(r.param("cursor") for r in store.requests[reads + 1:after])
    assert quiet == [] and [r.param("limit") for r in store.requests[after:]] == ["5"]


def test_a_page_partly_new_ends_the_poll_and_a_page_all_new_does_not(monkeypatch):
    monkeypatch.setattr(phoenix, "LIVE_PAGE", 5)
    monkeypatch.setattr(phoenix, "PAGE", 10)
    server = SmallPhoenix(SPANS)
    with serve(server) as store:
        source = source_for(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
        _delivered(source)
        counts = []
        for new in (4, 5, 6):  # 4: the page holds a delivered span; 5 and 6: the first page is all new
            for number in range(new):
                server.add(_late(100 * new + number))
            before = len(store.requests)
            assert len(_delivered(source)) == new
            counts.append(len(store.requests) - before)
        source.close()
    assert counts == [1, 2, 2]


def test_a_poll_that_fails_half_way_loses_nothing_and_repeats_nothing(monkeypatch):
    monkeypatch.setattr(phoenix, "LIVE_PAGE", 5)
    monkeypatch.setattr(phoenix, "PAGE", 5)
    server = SmallPhoenix(SPANS)
    failing = {"next": False}

    def flaky(request):
        if failing["next"] and request.param("cursor"):
            failing["next"] = False
            return json_answer({"detail": "database is locked"}, 503)
        return server(request)

    with serve(flaky) as store:
        source = source_for(f"phoenix://127.0.0.1:{store.port}/{PROJECT}?since=all")
        delivered = _delivered(source)
        for number in range(12):
            server.add(_late(number))
        failing["next"] = True
        partial = []
        with pytest.raises(phoenix.RemoteError, match="HTTP 503"):
            for result in source.poll():
                partial.extend(result.spans)
        for number in range(12, 14):  # more arrive before the next poll
            server.add(_late(number))
        rest = _delivered(source)
        source.close()
    assert [s.name for s in partial] == [f"late {n}" for n in (11, 10, 9, 8, 7)]  # the first page, then the failure
    # the next poll reads past the failed poll's spans (delivered, not a boundary) down to the first read's
    assert sorted(s.name for s in rest) == sorted(f"late {n}" for n in (0, 1, 2, 3, 4, 5, 6, 12, 13))
    keys = [(s.trace_id, s.span_id) for s in delivered + partial + rest]
    assert len(keys) == len(set(keys)) == 78 + 14
