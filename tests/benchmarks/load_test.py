"""Load test (a script, not a test): ``python tests/benchmarks/load_test.py``.

Starts a REAL local workspace on a temporary data dir (loopback only), deploys a chat (or,
with ``--kind embeddings``, an embeddings) endpoint at one throughput chunk, and runs
``--clients`` (default 32) concurrent clients for ``--seconds`` (default 60) asking for
``--factor`` (default 2) times the provisioned tokens/s (see ``tests/reliability/load.py``).
Prints the figures: requests, 200s, 429s and their share, 5xx, dropped connections, 429s
without Retry-After, tokens/s delivered against provisioned, latency, server memory after
warm-up and at the end. Exits 1 unless: zero 5xx, zero dropped, every refusal a 429 with
Retry-After, delivered within the provisioned rate plus one bucket, memory growth under 10%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")

from tests.reliability.harness import (  # noqa: E402
    CHAT,
    EMBED,
    chunk_of,
    create,
    settled,
    tps_config,
)
from tests.reliability.load import run_load  # noqa: E402
from tests.support import ServerProcess, wait_until  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--kind", choices=("chat", "embeddings"), default="chat",
                        help="chat (SmolLM2) or embeddings (MiniLM, many more requests/s)")
    args = parser.parse_args()
    model = CHAT if args.kind == "chat" else EMBED
    with tempfile.TemporaryDirectory(prefix="pt-load-") as tmp:
        server = ServerProcess(Path(tmp) / "ws").start()
        try:
            chunk = chunk_of(server, model)
            assert create(server, "load", tps_config(model, chunk, chunk)).status_code == 200
            wait_until(lambda: settled(server, "load"), 300, what="load endpoint deployed")
            report = run_load(server, "load", chunk, clients=args.clients,
                              seconds=args.seconds, warmup_s=args.warmup, factor=args.factor,
                              kind=args.kind)
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            server.stop()
    print(report.summary())
    lat = sorted(report.latencies_ms) or [0.0]
    print(f"requests: {report.requests}")
    print(f"answered 200: {report.statuses[200]}; 429: {report.statuses[429]} "
          f"({100 * report.share_429:.1f}%)")
    print(f"5xx: {report.server_errors}; dropped connections: {len(report.dropped)}; "
          f"429 without Retry-After: {report.refusals_without_retry_after}; other refusals: "
          f"{len(report.refusals_not_429)}")
    print(f"tokens/s: asked {report.asked_tps:.0f}, provisioned {report.provisioned_tps:.0f}, "
          f"delivered {report.delivered_tps:.0f}")
    print(f"latency of answered requests: p50 {lat[len(lat) // 2]:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)]:.0f} ms")
    print(f"server memory: {report.rss_after_warmup / 2**20:.0f} MiB after warm-up, "
          f"{report.rss_end / 2**20:.0f} MiB at the end ({100 * report.memory_growth:+.1f}%), "
          f"peak {report.rss_peak / 2**20:.0f} MiB; server alive: {alive}")
    for line in (report.dropped + report.refusals_not_429)[:10]:
        print("  " + line)
    ok = (report.server_errors == 0 and not report.dropped and not report.refusals_not_429
          and report.refusals_without_retry_after == 0 and report.statuses[429] > 0
          and report.delivered_tps <= report.provisioned_tps * (1 + 1.5 / report.seconds)
          and report.memory_growth < 0.10 and alive)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
