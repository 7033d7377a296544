"""The judge's one HTTP exchange, bounded and scrubbed: what a judge server sends back is as untrusted as a trace.

Three limits hold whatever the server does (issue 12):
- a deadline: the request runs on a daemon thread and the caller stops waiting when the evaluation's deadline
  passes. httpx's timeouts are per read, so a server dripping one byte every few seconds would otherwise keep a
  request alive for ever; the abandoned thread stops at its next byte or read timeout and never delays exit;
- a size cap: the body is streamed and a reply over `limit` bytes is an error, never read whole (an error reply
  is read only as far as its excerpt), so a 10 MB reply reaches neither `--json` output nor the cache;
- redaction: every text that came from the server (error excerpts and replies alike) loses the API key, bearer
  and basic credentials, key-like assignments and URL user info before anyone stores it, since a server echoing
  the request headers would otherwise put the key in the report.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

REPLY_LIMIT = 1 << 20  # bytes of a reply: verdicts are a few hundred tokens, 1 MiB is generous
EXCERPT_BYTES = 4096  # bytes of an error reply read for its excerpt (redacted whole, then clipped)
EXCERPT_CHARS = 200  # characters of an excerpt kept in an error message
REDACTED = "[redacted]"
_MIN_KEY = 8  # a shorter key would redact ordinary words; bearer and assignment patterns still cover it

# "authorization: Bearer <x>", "api_key=<x>", '"x-api-key": "<x>"' (also JSON-escaped): the value goes, the scheme stays
_ASSIGNMENT = re.compile(
    r"""((?:api[-_ ]?key|x-api-key|authorization|access[-_]?token|secret|password)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?:(?:bearer|basic)\s+)?+)"""
    r"""(?!\[redacted\])[^\s"'&,;}\\]+""",
    re.I,
)
# a free-standing "Bearer <token>": a token has a digit, so "bearer bonds" in a judge's reasoning stays
_CREDENTIAL = re.compile(r"\b(bearer|basic)(\s+)(?=[^\s]*\d)[A-Za-z0-9._~+/=:-]{8,}", re.I)
_USERINFO = re.compile(r"(://)[^/\s@]+@")


class JudgeError(Exception):
    """The judge gave no usable verdict; the message says why (already redacted)."""


def redact(text: str, secret: str | None = None) -> str:
    """`text` without `secret` (in any case), bearer/basic credentials, key-like assignments or URL user info."""
    if secret and len(secret) >= _MIN_KEY:
        text = re.sub(re.escape(secret), REDACTED, text, flags=re.I)
    text = _ASSIGNMENT.sub(rf"\1{REDACTED}", text)
    text = _CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


def excerpt(body: bytes, secret: str | None = None) -> str:
    """A short redacted excerpt of a server's body for an error message. Redacted before it is clipped, so a
    credential cut at the clip cannot leave its head behind."""
    text = redact(body[:EXCERPT_BYTES].decode("utf-8", "replace"), secret)
    return text[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS or len(body) > EXCERPT_BYTES else "")


@dataclass(frozen=True)
class Reply:
    """What came back: an error reply keeps only the head its excerpt needs."""

    status: int
    body: bytes  # whole for a 200 (at most `limit` bytes), the first EXCERPT_BYTES otherwise


def post(url: str, body: bytes, headers: dict[str, str], *, deadline: float, read_timeout: float, limit: int = REPLY_LIMIT, secret: str | None = None) -> Reply:
    """POST `body` as JSON and return the reply, or raise JudgeError: by the monotonic `deadline` at the latest,
    for a reply over `limit` bytes, or for any transport error (its text redacted of `secret`)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise JudgeError("the judge deadline passed before this request")
    outcome: dict[str, Reply | BaseException] = {}
    abandoned = threading.Event()

    def run() -> None:
        try:
            outcome["reply"] = _exchange(url, body, headers, min(read_timeout, remaining), limit, abandoned, secret)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, whatever it is
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="orchtui-judge-request", daemon=True)
    worker.start()
    worker.join(remaining)
    if worker.is_alive():
        abandoned.set()
        raise JudgeError("no complete reply before the judge deadline")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["reply"]  # type: ignore[return-value]


# One client per process, shared by every request (httpx clients can be shared between threads): a client per
# request built an SSL context each time (loading the CA bundle: most of a loopback verdict's time) and left a
# client's reference cycles to the collector, which a bulk load pauses, so `eval --judge-url` of 100 traces held
# 994 MB instead of 77 MB. Keyed by process id: a worker process forked from this one makes its own, never
# sharing the parent's sockets.
_clients: dict[int, Any] = {}
_clients_lock = threading.Lock()


def _client() -> Any:
    import httpx

    pid = os.getpid()
    with _clients_lock:
        client = _clients.get(pid)
        if client is None:
            _clients.clear()  # in a forked worker: the parent's client is not this process's to use
            client = _clients[pid] = httpx.Client()
    return client


def _exchange(url: str, body: bytes, headers: dict[str, str], timeout: float, limit: int, abandoned: threading.Event, secret: str | None) -> Reply:
    import httpx

    try:
        with _client().stream("POST", url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=timeout) as response:
            ok = response.status_code == 200
            declared = response.headers.get("content-length", "")
            if ok and declared.isdecimal() and int(declared) > limit:
                raise JudgeError(f"reply of {int(declared)} bytes is over the {limit}-byte limit")
            budget = limit if ok else EXCERPT_BYTES
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                if abandoned.is_set():
                    raise JudgeError("abandoned at the judge deadline")
                chunks.append(chunk)
                size += len(chunk)
                if size > budget:
                    if ok:
                        raise JudgeError(f"reply over the {limit}-byte limit")
                    break  # an error reply: its head is all the excerpt needs
            return Reply(response.status_code, b"".join(chunks)[:budget])
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: e.g. a key that is not ASCII
        raise JudgeError(redact(f"{type(exc).__name__}: {exc}", secret)[:EXCERPT_CHARS]) from None
