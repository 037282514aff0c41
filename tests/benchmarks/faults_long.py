"""Long fault run (a script, not a test): ``python tests/benchmarks/faults_long.py``.

Starts a REAL local workspace on a temporary data dir (loopback only) and repeats, for
``--rounds`` rounds (default 10), three ``kill -9`` trials: during a deploy, during a config
update and during a burst of queries, each followed by a restart and the checks of
``tests/reliability/faults.py`` (nothing lost or duplicated, nothing stuck IN_PROGRESS,
acknowledged updates applied, SQLite integrity before and after the restart, endpoints
answering again). The crash moment is spread at random over the first 1.5 s of each
rollout. Prints every trial and the totals; exits 1 at the first trial that fails.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")

from tests.reliability.faults import Ledger, run_round, setup  # noqa: E402
from tests.reliability.harness import chunk_of  # noqa: E402
from tests.support import ServerProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    started = time.monotonic()
    survived = 0
    with tempfile.TemporaryDirectory(prefix="pt-faults-") as tmp:
        server = ServerProcess(Path(tmp) / "ws").start()
        ledger = Ledger()
        try:
            chunk = chunk_of(server)
            setup(server, ledger, chunk)
            for n in range(1, args.rounds + 1):
                for result in run_round(server, ledger, chunk, n, rng):
                    survived += 1
                    print(f"round {n}: kill -9 during {result['kind']:<6} survived "
                          f"({result['endpoints']} endpoints, {result['seconds']} s"
                          + (f", {result['queries_before_kill']} queries answered and "
                             f"{result['dropped_by_kill']} cut by the kill"
                             if result["kind"] == "burst" else "") + ")", flush=True)
        except AssertionError:
            traceback.print_exc()
            print(f"\nFAILED after {survived} surviving trials (seed {seed})")
            return 1
        finally:
            server.stop()
    print()
    print(f"fault trials survived: {survived} of {3 * args.rounds} (seed {seed}) in "
          f"{time.monotonic() - started:.0f} s")
    print(f"endpoints at the end: {len(ledger.ids)}, none lost, none duplicated, none stuck "
          "IN_PROGRESS, every acknowledged update applied, integrity ok after every crash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
