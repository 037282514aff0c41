"""Long fuzzing run (a script, not a test): ``python tests/benchmarks/fuzz_long.py``.

Starts a REAL local workspace on a temporary data dir (loopback only), deploys a chat and an
embeddings endpoint, and drives every operation of its OpenAPI document with schemathesis
(see ``tests/reliability/fuzzing.py``), round after round with a fresh random seed, until
``--cases`` generated cases have run (default 1,000) or ``--max-minutes`` have passed.
Prints the figures: cases, statuses, 5xx, distinct failures (with a reproduction each).
Exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")

import requests  # noqa: E402

from tests.reliability.fuzzing import Targets, fuzz  # noqa: E402
from tests.reliability.harness import (  # noqa: E402
    CHAT,
    EMBED,
    SERVING,
    chunk_of,
    create,
    integrity,
    wait_all_settled,
)
from tests.support import ServerProcess  # noqa: E402

ALIAS = "fuzz-alias"


def prepare(server: ServerProcess, chunks: dict[str, int]) -> Targets:
    """(Re)create what the fuzzer's real-name cases point at (its DELETE cases remove them)."""
    for name, model in (("fuzz-chat", CHAT), ("fuzz-embed", EMBED)):
        existing = requests.get(f"{server.host}{SERVING}/{name}", headers=server.headers,
                                timeout=30)
        if existing.status_code == 404:
            response = create(server, name, {"served_entities": [{
                "entity_name": model, "entity_version": "1",
                "min_provisioned_throughput": chunks[model],
                "max_provisioned_throughput": chunks[model]}]})
            assert response.status_code == 200, response.text
    wait_all_settled(server)
    response = requests.put(f"{server.host}/api/2.1/unity-catalog/models/{CHAT}/aliases/{ALIAS}",
                            headers=server.headers, json={"version_num": 1}, timeout=30)
    assert response.status_code == 200, response.text
    return Targets.of(server.host, server.token, "fuzz-chat", "fuzz-embed", CHAT, "1", ALIAS,
                      "smollm2_135m_instruct-1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="stop after this many cases")
    parser.add_argument("--examples", type=int, default=15,
                        help="cases per operation, mode and path-parameter variant per round")
    parser.add_argument("--max-minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=None, help="first round's seed")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    totals = collections.Counter()
    failures: dict[tuple[str, str], str] = {}
    cases = server_errors = documented_503 = rounds = 0
    with tempfile.TemporaryDirectory(prefix="pt-fuzz-") as tmp:
        server = ServerProcess(Path(tmp) / "ws").start()
        try:
            chunks = {CHAT: chunk_of(server, CHAT), EMBED: chunk_of(server, EMBED)}
            while cases < args.cases and time.monotonic() - started < args.max_minutes * 60:
                seed = rng.randrange(2**32)
                targets = prepare(server, chunks)
                left = args.max_minutes * 60 - (time.monotonic() - started)
                report = fuzz(server.host, server.token, targets, args.examples, seed=seed,
                              deadline_s=left, log=print if args.verbose else lambda _: None)
                rounds += 1
                cases += report.cases
                server_errors += report.server_errors
                documented_503 += report.documented_503
                totals.update(report.statuses)
                failures.update(report.failures)
                print(f"round {rounds} (seed {seed}): {report.summary()}", flush=True)
            alive = server.proc is not None and server.proc.poll() is None
            health = integrity(server.data_dir)
        finally:
            server.stop()
    print()
    print(f"cases fuzzed: {cases} over {rounds} round(s) in {time.monotonic() - started:.0f} s")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(totals.items())))
    print(f"5xx: {server_errors}; documented 503 (still deploying): {documented_503}")
    print(f"server alive at the end: {alive}; integrity: {health}")
    print(f"distinct failures: {len(failures)}")
    for text in failures.values():
        print("\n" + text)
    ok = not failures and server_errors == 0 and alive and set(health.values()) == {"ok"}
    return 0 if ok and cases >= args.cases else 1


if __name__ == "__main__":
    sys.exit(main())
