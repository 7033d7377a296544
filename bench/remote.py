"""Route statistics over spans stored in ClickHouse: pushed down (`orchtui routes clickhouse://…`) against loading
the spans (`…&pushdown=0`: read every trace over HTTP, analyse it, build the RouteBook), as a ratio.

A child process runs ClickHouse (chDB, the test extra) behind the loopback HTTP shim (tests/orchtui/clickhouse_shim.py),
with the exporter's DDL, and fills it with `--spans` spans of the agent runs bench/routes.py generates (OpenInference
attributes, five workflows, one expensive branch), converted to the exporter's rows. This process is only the
client, so its peak resident memory (VmHWM, reset before each measurement) is what orchtui holds:

  pushed down   time (median of --rounds) and client peak RSS; flat in the number of spans is the target
  loading       time (one round; it is the slow side) and client peak RSS
  ratio         loading / pushed down (target: at least 20x)

With several sizes (`--spans 100000,1000000`) each gets its own server, which shows how both sides scale.

    python bench/remote.py [--spans 1000000] [--rounds 3]
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

    engine = Engine(Path(tempfile.mkdtemp(prefix="orchtui-bench-ch-")) / "db")
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
    engine.close()


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from the current RSS
    except OSError:
        pass


def measure(spans: int, rounds: int) -> dict:
    from orchtui.cli import main

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
    devnull = open(os.devnull, "w")
    try:
        pushed = []
        reset_peak()
        for _ in range(rounds):
            start = time.perf_counter()
            with _stdout(devnull):
                code = main(["routes", "--json", url])
            pushed.append(time.perf_counter() - start)
            assert code in (0, 1), code
        pushed_rss = peak_rss_mb()
        reset_peak()
        start = time.perf_counter()
        with _stdout(devnull):
            code = main(["routes", "--json", f"{url}&pushdown=0&limit=100000000&timeout=3600"])
        loaded = time.perf_counter() - start
        loaded_rss = peak_rss_mb()
        assert code in (0, 1), code
    finally:
        child.stdin.close()
        child.wait(timeout=60)
    return {"spans": stored, "traces": traces, "fill_s": filled, "pushed_s": statistics.median(pushed), "pushed_rss": pushed_rss,
            "loaded_s": loaded, "loaded_rss": loaded_rss}


class _stdout:
    def __init__(self, target) -> None:
        self.target = target

    def __enter__(self) -> None:
        self.saved = sys.stdout
        sys.stdout = self.target

    def __exit__(self, *exc) -> None:
        sys.stdout = self.saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", default="1000000", help="spans stored (comma-separated sizes for scaling)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print(f"{'spans':>10} {'traces':>8} {'pushed down':>12} {'client RSS':>11} {'loading':>10} {'client RSS':>11} {'ratio':>7}")
    for size in (int(text) for text in args.spans.split(",")):
        row = measure(size, args.rounds)
        print(f"{row['spans']:>10,} {row['traces']:>8,} {row['pushed_s']:>11.2f}s {row['pushed_rss']:>9.0f}MB "
              f"{row['loaded_s']:>9.1f}s {row['loaded_rss']:>9.0f}MB {row['loaded_s'] / row['pushed_s']:>6.1f}x"
              f"   (filled in {row['fill_s']:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
