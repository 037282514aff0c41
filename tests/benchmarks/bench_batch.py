"""Benchmark: ``batch_chat`` of 200 prompts against a sequential loop (target ≥ 3×).

Starts a real local workspace (or uses ``--host``/``--token``), deploys a chat endpoint
with ample provisioned throughput (so the CPU, not the rate limiter, is the bound), then
times the same prompts sent one by one with ``ws.chat`` and all at once with
``ws.batch_chat`` at its default parallelism. 16 output tokens per prompt, so decoding
(which the server batches) outweighs the per-request prefill, as in real use. The machine
should be otherwise idle: the speed-up is capped by free CPU cores.

    .venv/bin/python tests/benchmarks/bench_batch.py [--n 200] [--host URL --token T]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pt_widgets  # noqa: E402

TARGET_SPEEDUP = 3.0
MODEL = "system.ai.smollm2_135m_instruct"
ENDPOINT = "bench-batch-chat"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--host")
    parser.add_argument("--token")
    args = parser.parse_args()

    server = None
    if args.host:
        ws = pt_widgets.connect(args.host, args.token)
    else:
        from tests.support import ServerProcess

        server = ServerProcess(Path(tempfile.mkdtemp(prefix="bench-batch-"))).start()
        ws = pt_widgets.connect(server.host, server.token)
    try:
        plan = ws.sizing_plan(MODEL, 1)
        ample = 500 * plan.chunk_size
        ws.deploy(ENDPOINT, MODEL, 1, {"max_throughput": ample, "min_throughput": ample},
                  timeout=900)
        prompts = [f"Write one word about the number {i}." for i in range(args.n)]
        ws.chat(ENDPOINT, "warm up", max_tokens=2)

        started = time.perf_counter()
        for prompt in prompts:
            ws.chat(ENDPOINT, prompt, max_tokens=args.max_tokens, temperature=0)
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        frame = ws.batch_chat(ENDPOINT, prompts, max_tokens=args.max_tokens, temperature=0,
                              progress=False)
        batched = time.perf_counter() - started
    finally:
        if server is not None:
            server.stop()

    errors = int(frame["error"].notna().sum())
    speedup = sequential / batched
    print(f"{args.n} prompts, max_tokens={args.max_tokens}")
    print(f"sequential loop : {sequential:7.1f} s ({args.n / sequential:5.2f} prompts/s)")
    print(f"batch_chat      : {batched:7.1f} s ({args.n / batched:5.2f} prompts/s), "
          f"{errors} row errors, max attempts {int(frame['attempts'].max())}")
    ok = speedup >= TARGET_SPEEDUP and errors == 0
    print(f"speed-up {speedup:.2f}× (target ≥ {TARGET_SPEEDUP}×) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
