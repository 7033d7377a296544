"""Hostile trace text through every view and every CLI output: nothing acts, nothing hides, markup stays literal.

The corpus holds what a trace producer can put in a name, an id, a model, a message or an attribute: ESC sequences
(clear screen, set the window title, OSC 52 clipboard write, a CSI introduced by C1), Textual/Rich markup
(`[link=…]`, `[@click=app.quit]`, `[bold red]`), bidi overrides and isolates, zero-width characters, NUL, DEL,
U+FFFE, tag characters and a very long name. The TUI is checked on the bytes it would write to the terminal (the
compositor's full update of each screen), the CLI on its stdout, its JSON and its JUnit file.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import xml.etree.ElementTree as ElementTree

import orjson
import pytest

from orchtui.exposure import exposure_warning, is_loopback
from orchtui.export import file_name
from orchtui.gate import glob_literal, load_gate, route_for, toml_string
from orchtui.live import TraceIndex
from orchtui.textsafe import UNSAFE, json_bytes, printable
from parsers import read_path
from tests.orchtui.test_cli_check import run
from tests.tui.conftest import settle
from tui.app import OrchApp
from tui.screens.compare import CompareScreen
from tui.screens.help import HelpScreen
from tui.screens.routes import RoutesScreen

pytestmark = pytest.mark.slow  # run by .ci/run after the default suite (see pyproject.toml)

CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
C1_CSI = "\x9b31m"
LINK = "[link=https://evil.example]x[/link]"
CLICK = "[@click=app.quit]q[/]"
BOLD = "[bold red]b"
BIDI = "\u202eevil\u202c\u2066i\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "z\u200b\u200c\u200d\u2060\ufeff"
ODD = "\x00\x7f\ufffe\U000e0041\u2028"
MARKUP = ("[link=", "[@click=app.quit]", "[bold red]")

A_ID = "../../x\x00\u202e"
B_ID = "id\x1b]0;t\x07" + "\u200b"
C_ID = "0123456789abcdef0123456789abcdef"
A_NAME = "[link=x]" + CLEAR + TITLE
B_NAME = CLICK + BIDI + ZERO_WIDTH + ODD
C_NAME = BOLD + "L" * 3000
TOOL = "[bold red]tool" + "\x7f"

SIZE = (140, 40)
COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # what Textual itself writes: colours...
CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")  # ...and a cursor move to the start of each line


def _attrs(values: dict) -> list[dict]:
    def value(v):
        if isinstance(v, list):
            return {"arrayValue": {"values": [{"stringValue": x} for x in v]}}
        return {"stringValue": v}

    return [{"key": key, "value": value(v)} for key, v in values.items()]


def _trace(trace_id: str, name: str, start: int) -> list[dict]:
    """An agent run: a failed LLM call (a critical finding) whose model, reason and message are hostile, then a tool
    call with a hostile name and arguments, events and attribute keys."""
    ns = lambda offset: str(1_700_000_000_000_000_000 + start + offset)  # noqa: E731
    messages = orjson.dumps([{"role": "user\x1b[2J", "content": LINK + CLIPBOARD}]).decode()
    return [
        {"traceId": trace_id, "spanId": "r1", "name": name, "startTimeUnixNano": ns(0), "endTimeUnixNano": ns(9000),
         "attributes": _attrs({"gen_ai.operation.name": "invoke_agent", "key" + BIDI: BOLD + ZERO_WIDTH}), "status": {}},
        {"traceId": trace_id, "spanId": "l1", "parentSpanId": "r1", "name": "chat", "startTimeUnixNano": ns(1000),
         "endTimeUnixNano": ns(3000),
         "attributes": _attrs({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt" + BIDI,
                               "gen_ai.response.finish_reasons": ["len" + CLEAR], "gen_ai.input.messages": messages}),
         "status": {"code": 2, "message": "boom " + CLIPBOARD + C1_CSI + LINK},
         "events": [{"timeUnixNano": ns(2000), "name": "exception" + TITLE, "attributes": _attrs({"exception.message": CLICK + ODD})}]},
        {"traceId": trace_id, "spanId": "t1", "parentSpanId": "r1", "name": "execute_tool", "startTimeUnixNano": ns(4000),
         "endTimeUnixNano": ns(5000),
         "attributes": _attrs({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": TOOL,
                               "gen_ai.tool.call.arguments": orjson.dumps({"q": ZERO_WIDTH + TITLE}).decode()})},
    ]


def hostile_document() -> dict:
    spans = _trace(A_ID, A_NAME, 0) + _trace(B_ID, B_NAME, 10_000) + _trace(C_ID, C_NAME, 20_000)
    resource = {"attributes": _attrs({"service.name": "svc" + BIDI})}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "s" + CLEAR}, "spans": spans}]}]}


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "hostile.otlp.json"
    path.write_bytes(orjson.dumps(hostile_document()))
    return path


def hostile_spans(path):
    result = read_path(str(path))
    assert not result.errors and len(result.spans) == 9
    return result.spans


def assert_inert(output: str, where: str) -> str:
    """No character of the output may act or hide, once Textual's own colour and cursor sequences are taken out;
    returns the remaining text (cursor moves become line breaks)."""
    text = CURSOR_MOVE.sub("\n", COLOUR.sub("", output))
    found = sorted({printable(char) for char in UNSAFE.findall(text)})
    assert not found, f"{where}: raw {found} reached the output"
    return text


def screen_output(app: OrchApp, where: str) -> str:
    """What the app would write to the terminal for the whole current screen (toasts and modal layers included)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return assert_inert(update.render_segments(app.console), where)


# -- the escaping rule --------------------------------------------------------------------------------------------


def test_the_unsafe_class_covers_every_control_format_and_separator_character():
    wanted = {"Cc", "Cf", "Cs", "Zl", "Zp"}
    missing = [hex(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) in wanted and chr(cp) not in "\t\n" and not UNSAFE.match(chr(cp))]
    assert missing == []
    assert UNSAFE.match("\ufffe") and UNSAFE.match("\U0010ffff") and UNSAFE.match("\u3164")  # noncharacters, fillers
    assert not UNSAFE.search("plain ascii, émoji 🤖, 中文, עברית")  # visible text of any script stays


def test_printable_shows_every_hostile_character_escaped_and_keeps_text():
    assert printable(CLEAR + TITLE) == "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07"
    assert printable(BIDI) == "\\u202eevil\\u202c\\u2066i\\u2069\\u200e\\u200f\\u061c"
    assert printable(ZERO_WIDTH + ODD) == "z\\u200b\\u200c\\u200d\\u2060\\ufeff\\x00\\x7f\\ufffe\\U000e0041\\u2028"
    assert printable("a\r\nb\rc\td") == "a\nb\\x0dc\td" and printable("a\nb\tc", single_line=True) == "a b c"
    assert printable(LINK) == LINK  # markup is not printable's business: it never reaches a markup parser
    assert printable("x" * 50, limit=10) == "x" * 9 + "…"
    assert printable(printable(B_NAME)) == printable(B_NAME)  # escaping twice changes nothing


def test_json_output_escapes_the_characters_the_encoder_leaves_raw_and_keeps_the_data():
    document = {"name": B_NAME + C1_CSI, "id": A_ID}
    raw = json_bytes(document)
    assert orjson.loads(raw) == document
    assert_inert(raw.decode(), "json")


def test_json_output_without_acting_characters_is_the_encoders_own_and_del_is_escaped():
    plain = {"name": "tool café ✓", "n": 3}
    assert json_bytes(plain) == orjson.dumps(plain, option=orjson.OPT_INDENT_2) + b"\n"
    ascii_doc = {"name": "ok", "n": [1, 2]}
    assert json_bytes(ascii_doc) == orjson.dumps(ascii_doc, option=orjson.OPT_INDENT_2) + b"\n"
    raw = json_bytes({"name": "a\x7fb"})
    assert b"\x7f" not in raw and b"\\u007f" in raw and orjson.loads(raw) == {"name": "a\x7fb"}


def test_json_output_with_only_harmless_non_ascii_skips_the_escaping_pass(monkeypatch):
    """An `eval` report's dashes and a trace's accents made every report go through the regex (decoded, copied
    twice); only documents holding an acting character do now."""
    from orchtui import textsafe

    class Watched:
        def search(self, text):
            return UNSAFE.search(text)

        def sub(self, *args):
            raise AssertionError("an escaping pass over a document with nothing to escape")

    document = {"explanation": "Task completion 1.00 — ended normally", "name": "café ✓ 日本 𝄞"}
    monkeypatch.setattr(textsafe, "UNSAFE", Watched())
    assert json_bytes(document) == orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    monkeypatch.undo()
    hostile = {**document, "tail": "— \u202e \U000e0041 \x85"}
    raw = json_bytes(hostile)
    assert orjson.loads(raw) == hostile and b"\\u202e" in raw and b"\\u0085" in raw
    assert_inert(raw.decode(), "json")


# -- the terminal UI ----------------------------------------------------------------------------------------------


async def test_every_view_shows_hostile_traces_inert_and_markup_literal(hostile_file, tmp_path, monkeypatch):
    release = threading.Event()
    import tui.app as app_module

    real_evaluate = app_module.evaluate_trace

    def held_evaluate(*args, **kwargs):  # holds `e` on its "Evaluating {name}…" line until the test looked at it
        assert release.wait(10)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(app_module, "evaluate_trace", held_evaluate)
    gate = tmp_path / "gate.toml"
    app = OrchApp(TraceIndex(), save_dir=tmp_path / "saved", spec=gate, sources_label="hostile" + CLEAR)
    (tmp_path / "saved").mkdir()
    app.live = True  # a live source: critical findings toast as they arrive
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.deliver(hostile_spans(hostile_file))
        await settle(pilot)
        await pilot.pause(0.2)
        text = screen_output(app, "list with the live critical-finding toast")
        assert len(app.trace_list.rows) == 3
        # the toast (now narrow enough to wrap): shown escaped and literal, and on screen inert (screen_output checks)
        (toast,) = [n.message for n in app._notifications if "52;c" in n.message]
        assert "\\x1b]52;c;cHduZWQ=\\x07\\x9b31m[link=https://evil.example]x" in toast

        for row in range(3):  # each trace: its tree, then every step on every detail tab
            app.trace_list.cursor = row
            await settle(pilot)
            for step in range(3):
                await pilot.press("enter" if step == 0 else "j")
                for tab in ("summary", "messages", "attributes", "events") if step else ("summary", "io", "findings"):
                    app.detail.query_one("TabbedContent").active = tab
                    await pilot.pause()
                    text = screen_output(app, f"trace {row} step {step} tab {tab}")
            app.trace_list.focus()
        app.trace_list.cursor = 1  # B: its name holds the click markup
        await settle(pilot)
        app.detail.query_one("TabbedContent").active = "summary"
        await pilot.pause()
        assert "[@click=app.quit]q[/]\\u202eevil" in screen_output(app, "summary of B")

        await pilot.press("e")  # the transient line, then the results
        await pilot.pause()
        text = screen_output(app, "Evaluating line")
        assert "Evaluating" in text and "[@click=app.quit]q[/]" in text
        release.set()
        await settle(pilot)
        screen_output(app, "evaluation results")

        await pilot.press("E")  # B's tool path into the gate file
        await settle(pilot)
        assert route_for(app.trace_list.current.name, load_gate(gate)) is not None
        await pilot.press("y")
        await settle(pilot)
        assert [p.parent for p in tmp_path.rglob("*.otlp.json")] == [tmp_path / "saved"]
        screen_output(app, "after E and y")

        await pilot.press("m", "k", "d")  # B (marked) against C
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        text = screen_output(app, "compare")
        assert "compare  A: [@click=app.quit]q[/]\\u202eevil" in text  # the title, literal (B against C)
        await pilot.press("escape", "r")
        await settle(pilot)
        assert isinstance(app.screen, RoutesScreen)
        screen_output(app, "routes by path")
        await pilot.press("b")
        await settle(pilot)
        screen_output(app, "routes by family")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        screen_output(app, "help")
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"Trace")
        await settle(pilot)
        await pilot.pause(0.3)
        text = screen_output(app, "command palette")
        assert "[link=x]" in text and "[@click=app.quit]" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


def test_e_escapes_names_in_the_gate_file_and_matches_them_literally(tmp_path):
    names = [A_NAME, B_NAME, "star*?", "a]b[", "quote\"back\\slash\ttab\nline"]
    for name in names:
        text = toml_string(name)
        assert_inert(text, "toml string")
        assert route_for(name, []) is None
    from orchtui.gate import append_golden_route

    gate = tmp_path / "gate.toml"
    for name in names:
        append_golden_route(gate, name, [(TOOL, {})])
    assert_inert(gate.read_text(), "gate file")
    routes = load_gate(gate)
    assert [route_for(name, routes).match for name in names] == [glob_literal(name) for name in names]
    assert route_for("starXY", routes) is None  # the saved glob is literal: `*` matches only `*`
    with pytest.raises(ValueError):
        append_golden_route(gate, "lone \ud800 surrogate", [])
    assert len(load_gate(gate)) == len(routes)  # nothing half-written


def test_y_file_names_stay_in_the_directory():
    for trace_id in (A_ID, "..", "/etc/passwd", "a\\b", ""):
        name = file_name(A_NAME, trace_id)
        assert re.fullmatch(r"orchtui-[\w-]+\.otlp\.json", name), name
    assert file_name("n", "../../aa") != file_name("n", "..\\..\\aa")  # ids changed to fit get a digest
    assert file_name("refund", C_ID) == "orchtui-refund-0123456789ab.otlp.json"


async def test_an_exposed_otlp_endpoint_is_said_in_the_ui_at_once(monkeypatch, tmp_path):
    import orchtui.sources.receiver as receiver_module
    from orchtui.sources.base import STARTING
    from orchtui.sources.factory import sources_for

    class Receiver:  # no socket: the test binds nothing beyond loopback
        def __init__(self, deliver, *, host, port, token, spool, **_):
            self.host, self.port = host, port

        def start(self):
            pass

        def stop(self):
            pass

    monkeypatch.setattr(receiver_module, "OtlpReceiver", Receiver)
    app = OrchApp(TraceIndex(), sources=sources_for(otlp=("0.0.0.0", 4318), spool=tmp_path / "spool"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        while app.sources[0].status.state == STARTING:  # it binds on its own thread
            await pilot.pause(0.02)
        await settle(pilot)
        text = screen_output(app, "exposed receiver")
        assert "open to the network without a token" in text  # the status line, for as long as it runs
        assert "listening on 0.0.0.0 without a token" in text  # the toast
    assert exposure_warning("0.0.0.0", None) and exposure_warning("::", None) and exposure_warning("example.com", None)
    assert not exposure_warning("0.0.0.0", "secret")
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"))


# -- the command line ---------------------------------------------------------------------------------------------


def test_check_routes_eval_and_diff_print_hostile_text_inert(hostile_file, tmp_path):
    path = str(hostile_file)
    for argv in (("check", path), ("routes", path), ("routes", path, "--by", "family"), ("eval", path)):
        code, out, err = run(*argv)
        assert code in (0, 1), (argv, err)
        text = assert_inert(out + err, " ".join(argv[:1]))
        assert "[link=x]" in text and "\\u202e" in text
    code, out, err = run("check", path)
    assert printable(B_ID[:16], True) in out  # the non-hex id, escaped
    code, out, err = run("diff", A_ID, B_ID, path)
    assert code in (0, 1), err
    assert "[link=x]" in assert_inert(out + err, "diff")


def test_eval_junit_is_well_formed_xml_with_the_ids_and_names_escaped(hostile_file, tmp_path):
    junit = tmp_path / "junit.xml"
    code, _, err = run("eval", str(hostile_file), "--junit", str(junit))
    assert code in (0, 1), err
    root = ElementTree.parse(junit).getroot()  # XML 1.0 would reject a raw control character or U+FFFE
    cases = root.iter("testcase")
    names = {case.get("classname") for case in cases}
    assert printable(B_NAME) in names and printable(A_NAME) in names
    assert_inert(junit.read_text(), "junit")


def test_json_outputs_are_inert(hostile_file):
    for argv in (("check", "--json"), ("routes", "--json"), ("eval", "--json")):
        code, out, err = run(argv[0], str(hostile_file), *argv[1:])
        assert code in (0, 1), err
        assert_inert(out, " ".join(argv))
