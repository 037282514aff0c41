"""kill -9 during a deploy, a config update and a burst of queries; restart; nothing lost.

One trial of each here; ``tests/benchmarks/faults_long.py`` repeats them (10+ rounds, the
crash spread over the rollout). See ``faults.py`` for what every trial checks.
"""

from __future__ import annotations

from ..support import ServerProcess
from .faults import Ledger, run_round, setup
from .harness import seed_calibration


def test_kill_9_at_three_bad_moments_loses_nothing(deployed, tmp_path):
    data_dir = tmp_path / "faults"
    seed_calibration(deployed.server.data_dir, data_dir)
    server = ServerProcess(data_dir).start()
    try:
        ledger = Ledger()
        setup(server, ledger, deployed.chat_chunk)
        results = run_round(server, ledger, deployed.chat_chunk, 1)
    finally:
        server.stop()
    assert [r["kind"] for r in results] == ["deploy", "update", "burst"]
    assert results[-1]["endpoints"] == 2
    print(results)
