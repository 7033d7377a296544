"""Fixtures shared by the receiver's tests (protocol, abuse, spool)."""

from __future__ import annotations

import pytest

from orchtui.sources.otlp_http import OtlpReceiver, Spool
from orchtui.store import SpanStore


@pytest.fixture
def receiver(tmp_path):
    """`receiver(**options)` starts an OTLP receiver on a free loopback port with a spool under tmp_path and
    returns (receiver, store); every receiver started is stopped after the test."""
    started = []

    def start(**options) -> tuple[OtlpReceiver, SpanStore]:
        store = SpanStore()
        options.setdefault("spool", Spool(tmp_path / "spool"))
        server = OtlpReceiver(store.add, port=0, **options)
        server.start()
        started.append(server)
        return server, store

    yield start
    for server in started:
        server.stop()
