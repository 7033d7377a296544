"""Route statistics over spans stored in ClickHouse: pushed down (`orchtui routes clickhouse://…`) against loading
the spans (`…&pushdown=0`: read every trace over HTTP, analyse it, build the RouteBook), as a ratio.

A child process runs ClickHouse (chDB, the test extra) behind the loopback HTTP shim (tests/orchtui/clickhouse_shim.py),
with the exporter's DDL, and fills it with `--spans` spans of the agent runs bench/routes.py generates (OpenInference
attributes, five workflows, one expensive branch), converted to the exporter's rows. Every measurement is a fresh
`python -m orchtui routes --json URL` process (the client: nothing left over from another measurement), timed from
its start to its exit, with its own peak resident memory (the kernel's maximum RSS of that process, os.wait4):

  pushed down   time (median of --rounds processes) and client peak RSS; flat in the number of spans is the target
  loading       time (one process; it is the slow side) and client peak RSS
  ratio         loading / pushed down (target: at least 20x)

Each size (`--spans`, default 100000,1000000) gets its own server; the rows side by side show how both sides scale
(flat memory: the pushed-down RSS is the same at both sizes).

    python bench/remote.py [--spans 100000,1000000] [--rounds 3]
    python bench/remote.py --live [--intervals default,0.25,2] [--samples 40] [--stored N]   (tail phoenix://: see live_latency)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve(spans: int) -> None:
    """The child: fill chDB with about `spans` spans, say `READY port spans traces`, serve until stdin closes."""
    from bench.routes import TraceFactory
    from orchtui.export import any_value  # noqa: F401 - bench.routes needs it importable
    from tests.orchtui.clickhouse_shim import DDL, Engine, Server, rows_from_request

    import shutil

    folder = Path(tempfile.mkdtemp(prefix="orchtui-bench-ch-"))  # ~0.2 GB at 1M spans: removed when done
    engine = Engine(folder / "db")
    try:
        engine.run_script(DDL)
        factory = TraceFactory()
        total = traces = 0
        batch: list[dict] = []
        while total < spans:
            items = factory.trace()
            request = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-agents"}}]},
                                          "scopeSpans": [{"scope": {"name": "openinference.instrumentation.langchain"}, "spans": items}]}]}
            batch.extend(rows_from_request(request))
            total += len(items)
            traces += 1
            if len(batch) >= 20_000:
                engine.insert("otel.otel_traces", batch)
                batch = []
        if batch:
            engine.insert("otel.otel_traces", batch)
        engine.query("OPTIMIZE TABLE otel.otel_traces FINAL")
        with Server(engine) as server:
            print(f"READY {server.port} {total} {traces}", flush=True)
            sys.stdin.read()
    finally:
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)


def client(url: str) -> tuple[float, float]:
    """One `orchtui routes --json URL` in a fresh process: (wall seconds, peak RSS in MB)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "orchtui", "routes", "--json", url], stdout=subprocess.DEVNULL,
                                   stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # this process's own rusage (ru_maxrss: KB on Linux)
        elapsed = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):  # 1: an expensive branch was found (the generated runs have one)
            err.seek(0)
            raise SystemExit(f"orchtui routes {url} exited {code}: {err.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def measure(spans: int, rounds: int) -> dict:
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(spans)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    began = time.perf_counter()
    line = child.stdout.readline().split()
    if not line or line[0] != "READY":
        child.kill()
        raise SystemExit(f"the ClickHouse child did not start: {line}")
    port, stored, traces = (int(value) for value in line[1:])
    filled = time.perf_counter() - began
    url = f"clickhouse://default@127.0.0.1:{port}/otel?since=all"
    try:
        pushed = [client(url) for _ in range(rounds)]
        loaded, loaded_rss = client(f"{url}&pushdown=0&limit=100000000&timeout=3600")
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    return {"spans": stored, "traces": traces, "fill_s": filled, "pushed_s": statistics.median(s for s, _ in pushed),
            "pushed_rss": max(rss for _, rss in pushed), "loaded_s": loaded, "loaded_rss": loaded_rss}


# -- live polls: from a span stored in Phoenix to the trace on screen -------------------------------------------------


def live_latency(intervals: list[float | None], samples: int, stored: int = 0) -> None:
    """`orchtui tail phoenix://…`'s latency, per poll interval: a span becomes available on the server -> its trace
    is in the TUI's index -> listed -> painted (the first frame that shows its name), p50/p95 over `samples` new
    traces published at random moments of the poll cycle. Against a real Phoenix when `ORCHTUI_PHOENIX_BIN` names
    a `phoenix` executable (spans sent with the OTel SDK; "available" is when Phoenix's REST API first lists the
    span, probed every 10 ms; export -> available is Phoenix's own ingest delay, shown apart), else against the
    loopback contract server of tests/orchtui/test_remote_phoenix.py (the span is available when it is added),
    holding the 78 recorded spans, or `stored` spans (copies of the recorded traces): a live poll asks for a small
    page of the newest spans (orchtui.remote.phoenix.LIVE_PAGE) and pages further only while a page is all new, so a
    busy project costs a poll what arrived since the last one. An interval of None is tail's default (the URL has no
    `interval=`: orchtui.remote.phoenix.LIVE_INTERVAL_S). Each row also says what the live polls asked for: their
    requests and answer sizes (the client's own GETs, counted after the first read). The app runs headless
    (App.run_test) in this process; the server runs on its threads (loopback) or as a process."""
    import asyncio

    from orchtui.remote.phoenix import LIVE_INTERVAL_S  # tail's default for phoenix://

    binary = os.environ.get("ORCHTUI_PHOENIX_BIN")
    with (_RealPhoenix(binary) if binary else _LoopbackPhoenix(stored)) as server:
        print(f"live-poll latency, span available on the server -> trace on screen: {server.description}")
        print(f"{samples} new traces per interval, each published at a random moment of the poll cycle; target p95 < 1 s")
        head = f"{'interval':>9} {'to index p50/p95':>18} {'to screen p50/p95':>19} {'missed':>7}"
        print(head + (f" {'export->available p50/p95':>27}" if server.real else ""), flush=True)
        for interval in intervals:
            row = asyncio.run(_live_round(server, interval, samples))
            shown = _ms(interval) if interval is not None else f"{_ms(LIVE_INTERVAL_S)}*"
            line = (f"{shown:>9} {_pair(row['index']):>18} {_pair(row['screen']):>19} {row['missed']:>7}"
                    + (f" {_pair(row['ingest']):>27}" if server.real else ""))
            met = "met" if row["screen"] and _p95(row["screen"]) < 1.0 and not row["missed"] else "NOT met"
            print(f"{line}   p95 < 1 s: {met}", flush=True)
            print(f"{'':>9} live polls' requests: {_requests(row['requests'])}", flush=True)
        if None in intervals:
            print("* tail's default for phoenix:// (no interval= in the URL)")


async def _live_round(server, interval: float | None, samples: int) -> dict:
    import asyncio
    import random

    from orchtui.remote import http as remote_http
    from orchtui.remote.phoenix import LIVE_INTERVAL_S
    from orchtui.sources.factory import sources_for
    from tui.app import make_app

    app = make_app(sources_for([server.url(interval)], follow=True))
    cycle = LIVE_INTERVAL_S if interval is None else interval
    requests: list[tuple[dict, int]] = []  # (query parameters, answer bytes) of every GET the source makes
    get = remote_http.Client.get

    def counting_get(client, path, params=None, *args, **kwargs):
        answer = get(client, path, params, *args, **kwargs)
        requests.append((dict(params or {}), len(answer.body)))
        return answer
    # root span name (each new trace has its own) -> {"available", "trace_id", "index", "listed", "screen"}
    pending: dict[str, dict] = {}
    add, apply_rows, display = app.index.add, app._apply_rows, app._display

    def timed_add(spans):
        changed = add(spans)
        now = time.perf_counter()
        for span in spans:
            marks = pending.get(span.name)
            if marks is not None and "index" not in marks:
                marks["index"], marks["trace_id"] = now, span.trace_id
        return changed

    def timed_rows(token, rows, positions):
        apply_rows(token, rows, positions)
        now = time.perf_counter()
        for marks in pending.values():
            if "listed" not in marks and marks.get("trace_id") in positions and app.trace_list.rows is rows:
                marks["listed"] = now

    def timed_display(screen, renderable):
        display(screen, renderable)
        waiting = [(name, marks) for name, marks in pending.items() if "listed" in marks and "screen" not in marks]
        if renderable is None or app._batch_count or not waiting:
            return
        now = time.perf_counter()
        painted = "".join(segment.text for segment in renderable.__rich_console__(app.console, app.console.options))
        for name, marks in waiting:
            if name in painted:
                marks["screen"] = now

    app.index.add, app._apply_rows, app._display = timed_add, timed_rows, timed_display
    remote_http.Client.get = counting_get
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 120
            while app.index.counts()["spans"] < server.stored and time.monotonic() < deadline:
                await pilot.pause(0.05)  # the first poll: what the project already holds
            first_read = len(requests)
            missed = 0
            for number in range(samples):
                await asyncio.sleep(random.uniform(0.05, 0.05 + cycle))  # a random moment of the poll cycle
                name = f"bench-live-{cycle * 1000:.0f}-{number:03d}"
                marks = pending[name] = {}
                marks.update(await asyncio.to_thread(server.publish, f"{random.getrandbits(128):032x}", name))
                deadline = time.monotonic() + 10 + cycle
                while "screen" not in marks and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                missed += "screen" not in marks
            live = requests[first_read:]
    finally:
        remote_http.Client.get = get
    done = [marks for marks in pending.values() if "screen" in marks]
    return {
        "index": [marks["index"] - marks["available"] for marks in done],
        "screen": [marks["screen"] - marks["available"] for marks in done],
        "ingest": [marks["available"] - marks["exported"] for marks in done if "exported" in marks],
        "missed": missed,
        "requests": live,
    }


def _requests(requests: list[tuple[dict, int]]) -> str:
    """The live polls' GETs: how many, how many continued a poll (a cursor: the page before was all new), the
    limits asked, and the answers' sizes."""
    if not requests:
        return "none"
    sizes = sorted(size for _, size in requests)
    limits = sorted({params.get("limit", "?") for params, _ in requests}, key=lambda text: (len(text), text))
    further = sum(1 for params, _ in requests if params.get("cursor"))
    return (f"{len(requests)} ({further} further pages), limit={'/'.join(limits)}, answer bytes median "
            f"{statistics.median(sizes):,.0f}, max {sizes[-1]:,}")


class _LoopbackPhoenix:
    """tests/orchtui/test_remote_phoenix.py's SmallPhoenix (Phoenix's otlpv1 paging: newest first, cursors) over the
    recorded spans, on a loopback port; a published span is available the moment it is added."""

    real = False

    def __init__(self, stored: int) -> None:
        self.wanted = stored

    def __enter__(self):
        from tests.orchtui.remote_http import serve
        from tests.orchtui.test_remote_phoenix import PROJECT, SPANS, SmallPhoenix

        self.project, self.template = PROJECT, SPANS[0]
        spans, copy = list(SPANS), 0
        while len(spans) < self.wanted:  # older copies of the recorded traces (the list is newest first)
            copy += 1
            spans += [dict(span, trace_id=f"{copy:08x}{span['trace_id'][8:]}") for span in SPANS]
        self.phoenix = SmallPhoenix(spans)
        self.stored = len(spans)
        self._serving = serve(self.phoenix)
        self.port = self._serving.__enter__().port
        self.description = (f"loopback Phoenix contract server (SmallPhoenix, tests/orchtui/test_remote_phoenix.py) "
                            f"on 127.0.0.1:{self.port}, {self.stored} spans stored")
        return self

    def __exit__(self, *exc) -> None:
        self._serving.__exit__(*exc)

    def url(self, interval: float | None) -> str:
        return f"phoenix://127.0.0.1:{self.port}/{self.project}?since=all" + _interval(interval)

    def publish(self, trace_id: str, name: str) -> dict:
        now = time.time_ns()
        self.phoenix.add(dict(self.template, trace_id=trace_id, span_id=trace_id[:16], parent_span_id=None, name=name,
                              start_time_unix_nano=now, end_time_unix_nano=now + 1_000_000))
        return {"available": time.perf_counter()}


class _RealPhoenix:
    """`phoenix serve` (ORCHTUI_PHOENIX_BIN) on loopback ports with a fresh working directory; spans are sent one
    trace at a time with the OTel SDK's OTLP/HTTP exporter, and "available" is when the REST API first lists one."""

    real = True
    project = "orchtui-bench"

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def __enter__(self):
        import httpx
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        from tests.orchtui.remote_http import free_port

        self.port = free_port()
        self.work = Path(tempfile.mkdtemp(prefix="orchtui-bench-phoenix-"))
        env = {**os.environ, "PHOENIX_WORKING_DIR": str(self.work), "PHOENIX_PORT": str(self.port), "PHOENIX_HOST": "127.0.0.1",
               "PHOENIX_GRPC_PORT": str(free_port()), "PHOENIX_TELEMETRY_ENABLED": "false"}
        env.pop("PHOENIX_API_KEY", None)
        self.log = (self.work / "phoenix.log").open("wb")
        self.process = subprocess.Popen([self.binary, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(base_url=self.base, timeout=10)
        deadline = time.monotonic() + 180
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"phoenix serve did not start: see {self.work / 'phoenix.log'}")
            time.sleep(0.5)
        version = self.http.get("/arize_phoenix_version")
        self.provider = TracerProvider(resource=Resource({"openinference.project.name": self.project}))
        self.provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{self.base}/v1/traces")))
        self.tracer = self.provider.get_tracer("orchtui-bench")
        self.stored = 0
        for number in range(20):  # something stored before the first poll, as in a project in use
            self.publish(f"{number:032x}", f"warm-up-{number:02d}")
            self.stored += 1
        self.description = (f"real Phoenix {version.text.strip() if version.status_code == 200 else ''} "
                            f"({self.binary} serve, 127.0.0.1:{self.port}), {self.stored} spans stored first")
        return self

    def __exit__(self, *exc) -> None:
        self.provider.shutdown()
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def url(self, interval: float | None) -> str:
        return f"phoenix://127.0.0.1:{self.port}/{self.project}?since=1h" + _interval(interval)

    def publish(self, trace_id: str, name: str) -> dict:
        """Export one root span (its own trace; the SDK chooses the ids: the name finds it), then probe the REST
        API every 10 ms until it lists the span."""
        span = self.tracer.start_span(name, attributes={"openinference.span.kind": "AGENT"})
        exported = time.perf_counter()
        span.end()  # SimpleSpanProcessor: exported here
        path = f"/v1/projects/{self.project}/spans/otlpv1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page = self.http.get(path, params={"limit": "20"})
            if page.status_code == 200 and any(item.get("name") == name for item in page.json().get("data") or []):
                return {"available": time.perf_counter(), "exported": exported}
            time.sleep(0.01)
        return {"available": time.perf_counter(), "exported": exported}


def _interval(interval: float | None) -> str:
    return "" if interval is None else f"&interval={interval * 1000:.0f}ms"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]  # nearest rank


def _pair(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values) * 1000:.0f} / {_p95(values) * 1000:.0f} ms"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:g} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", default="100000,1000000", help="spans stored (comma-separated sizes, default 100000,1000000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--live", action="store_true", help="measure tail phoenix://'s live-poll latency instead "
                        "(a real Phoenix when ORCHTUI_PHOENIX_BIN is set, else the loopback contract server)")
    parser.add_argument("--intervals", default="default,0.25,2", help="--live: poll intervals in seconds, or `default` (no "
                        "interval= in the URL: tail's default for phoenix://, 0.5 s); default: default,0.25,2")
    parser.add_argument("--samples", type=int, default=40, help="--live: new traces timed per interval (default 40)")
    parser.add_argument("--stored", type=int, default=0, help="--live, loopback server: spans the project holds (default: the 78 recorded)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.live:
        live_latency([None if text.strip() == "default" else float(text) for text in args.intervals.split(",")], args.samples,
                     args.stored)
        return
    print("orchtui routes over spans in ClickHouse, one fresh client process per measurement (time, peak RSS)")
    print(f"{'spans':>10} {'traces':>8} {'pushed down':>12} {'client RSS':>11} {'loading':>10} {'client RSS':>11} {'ratio':>7}")
    rows = []
    for size in (int(text) for text in args.spans.split(",")):
        row = measure(size, args.rounds)
        rows.append(row)
        print(f"{row['spans']:>10,} {row['traces']:>8,} {row['pushed_s']:>11.2f}s {row['pushed_rss']:>9.0f}MB "
              f"{row['loaded_s']:>9.1f}s {row['loaded_rss']:>9.0f}MB {row['loaded_s'] / row['pushed_s']:>6.1f}x"
              f"   (filled in {row['fill_s']:.0f}s)", flush=True)
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        print(f"client peak RSS from {small['spans']:,} to {large['spans']:,} spans: pushed down {small['pushed_rss']:.0f} -> "
              f"{large['pushed_rss']:.0f} MB (x{large['pushed_rss'] / small['pushed_rss']:.2f}; flat is the target), loading "
              f"{small['loaded_rss']:.0f} -> {large['loaded_rss']:.0f} MB (x{large['loaded_rss'] / small['loaded_rss']:.1f})")
    ratio = rows[-1]["loaded_s"] / rows[-1]["pushed_s"]
    print(f"ratio at {rows[-1]['spans']:,} spans: {ratio:.1f}x (target >= 20x: {'met' if ratio >= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
