"""Fixtures shared by the engine's tests: the demo written as a file, and the receivers (protocol, abuse, spool,
gRPC)."""

from __future__ import annotations

import pytest

from orchtui.demo import write_demo_file
from orchtui.sources.otlp_http import OtlpReceiver, Spool
from orchtui.store import SpanStore


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> str:
    """The bundled demo's traces as an OTLP/JSON Lines file (a path string, as the CLI takes it), one per module."""
    path = tmp_path_factory.mktemp("demo") / "demo.otlp.jsonl"
    write_demo_file(path)
    return str(path)


def _starter(endpoint_class, spool_base):
    """`start(**options)` -> (endpoint, store): an endpoint of `endpoint_class` on a free loopback port with a
    spool at `spool_base` (unless it shares an `ingest`), delivering to a new store; `started` lists them."""
    started = []

    def start(**options):
        store = SpanStore()
        if "ingest" not in options:
            options.setdefault("spool", Spool(spool_base))
            options.setdefault("deliver", store.add)
        server = endpoint_class(port=0, **options)
        server.start()
        started.append(server)
        return server, store

    return start, started


@pytest.fixture
def receiver(tmp_path):
    """`receiver(**options)` starts an OTLP/HTTP receiver on a free loopback port with a spool under tmp_path and
    returns (receiver, store); every receiver started is stopped after the test."""
    start, started = _starter(OtlpReceiver, tmp_path / "spool")
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def grpc_receiver(tmp_path):
    """The same for the OTLP/gRPC endpoint (skipped without grpcio). To share an HTTP receiver's ingest, ask for
    this fixture after `receiver`: it is then stopped first."""
    pytest.importorskip("grpc")
    from orchtui.sources.otlp_grpc import OtlpGrpcReceiver

    start, started = _starter(OtlpGrpcReceiver, tmp_path / "grpc-spool")
    yield start
    for server in started:
        server.stop()
