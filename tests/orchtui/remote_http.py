"""A loopback HTTP server standing in for a trace store in the remote-source contract tests: each test gives it a
function from the request to the answer, and reads back every request the client made (path, query, headers)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from orchtui.cli import main
from tests.conftest import DATA

REMOTE = DATA / "remote"
SOURCE = REMOTE / "source.otlp.pb"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(document: object, status: int = 200) -> Answer:
    return Answer(status, json.dumps(document).encode())


@dataclass
class Store:
    url: str  # http://127.0.0.1:PORT
    requests: list[Request]
    port: int

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


@contextmanager
def serve(answer: Callable[[Request], Answer], tls: tuple[str, str] | None = None) -> Iterator[Store]:
    """Serve `answer` on a free loopback port (over TLS with `tls` = (certificate file, key file))."""
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            request = Request("GET", parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {name.lower(): value for name, value in self.headers.items()})
            requests.append(request)
            try:
                reply = answer(request)
            except Exception as exc:  # noqa: BLE001 - a test's assertion inside the server: answer 599 and say it
                reply = Answer(599, f"test server: {type(exc).__name__}: {exc}".encode(), "text/plain")
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Store(f"http://127.0.0.1:{server.server_port}", requests, server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(*argv: str) -> tuple[int, str, str]:
    """`orchtui ARGV` in this process: (exit status, stdout, stderr)."""
    err, raw = io.StringIO(), io.BytesIO()
    wrapper = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with redirect_stdout(wrapper), redirect_stderr(err):
        code = main(list(argv))
        wrapper.flush()
    return code, raw.getvalue().decode(), err.getvalue()


def check_json(*inputs: str) -> tuple[int, dict, str]:
    """`orchtui check --json INPUTS`: (exit status, the document, stderr)."""
    code, out, err = run("check", "--json", *inputs)
    return code, json.loads(out), err


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """Credentials come from the environment or the config file: no test may read the developer's."""
    monkeypatch.setenv("ORCHTUI_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("PHOENIX_API_KEY", "ORCHTUI_JAEGER_TOKEN", "ORCHTUI_TEMPO_TOKEN", "ORCHTUI_TEMPO_USER",
                 "ORCHTUI_TEMPO_PASSWORD", "ORCHTUI_TEMPO_TENANT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
