"""Benchmark: the cost of first use, against ``import anywidget, ipywidgets, pandas``.

``import pt_widgets`` imports nothing by design, so timing it says little: the cost is paid
at first use. Each case runs in a fresh interpreter (alternating, ``--runs`` times) and is
timed twice: the statement itself inside the child (imports included), and the whole
process (interpreter start and exit, e.g. worker threads joined). The baseline is what any
widget notebook imports anyway, measured in the same run; the ratios are against it.

- ``pt_widgets.App()``: the App's construction, with every import it needs;
- ``pt_widgets.connect()``: connecting to a running local workspace (this script starts
  one, empty, on a temporary data dir; host and token reach the child as
  ``DATABRICKS_HOST``/``DATABRICKS_TOKEN``, the documented way).

    .venv/bin/python tests/benchmarks/bench_import.py [--runs 11] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import ServerProcess, server_env  # noqa: E402

TARGET_IMPORT_RATIO = 1.3  # `import pt_widgets` must stay cheap (it imports nothing)
BASELINE = "import anywidget, ipywidgets, pandas"
CASES = {
    "baseline: import anywidget, ipywidgets, pandas": BASELINE,
    "import pt_widgets": "import pt_widgets",
    "pt_widgets.App()": "import pt_widgets; app = pt_widgets.App()",
    "pt_widgets.connect()": "import pt_widgets; ws = pt_widgets.connect()",
    "python -c pass": "pass",
}
CHILD = """\
import json, time
t0 = time.perf_counter()
exec(compile({code!r}, "<bench>", "exec"))
print("BENCH " + json.dumps(time.perf_counter() - t0), flush=True)
"""


def run_case(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(seconds of the statement inside the child, seconds of the whole process)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD.format(code=code)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{code!r} failed:\n{done.stderr[-3000:]}")
    inner = next(line for line in done.stdout.splitlines() if line.startswith("BENCH "))
    return float(inner.split(" ", 1)[1]), wall


def child_env(server: ServerProcess) -> dict[str, str]:
    env = server_env()  # no DATABRICKS_* from the caller's shell
    env.update(DATABRICKS_HOST=server.host, DATABRICKS_TOKEN=server.token,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    return env


def report(samples: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    medians = {name: {"statement_s": statistics.median(s for s, _ in values),
                      "process_s": statistics.median(w for _, w in values)}
               for name, values in samples.items()}
    base = medians[next(iter(CASES))]
    print(f"{'case':48s} {'statement':>10s} {'ratio':>6s} {'process':>10s} {'ratio':>6s}")
    for name, m in medians.items():
        m["statement_ratio"] = m["statement_s"] / base["statement_s"]
        m["process_ratio"] = m["process_s"] / base["process_s"]
        print(f"{name:48s} {m['statement_s'] * 1000:8.0f} ms {m['statement_ratio']:5.2f}x "
              f"{m['process_s'] * 1000:8.0f} ms {m['process_ratio']:5.2f}x")
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pt-bench-import-") as tmp:
        server = ServerProcess(Path(tmp) / "ws").start()
        try:
            env = child_env(server)
            for code in CASES.values():  # warm the OS file cache (and check each case runs)
                run_case(code, env)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
            for _ in range(args.runs):
                for name, code in CASES.items():
                    samples[name].append(run_case(code, env))
        finally:
            server.stop()
    print(f"median of {args.runs} fresh interpreters per case, alternating; ratios against "
          "the baseline measured in the same run")
    medians = report(samples)
    ratio = medians["import pt_widgets"]["statement_ratio"]
    verdict = "PASS" if ratio <= TARGET_IMPORT_RATIO else "FAIL"
    print(f"import pt_widgets / baseline = {ratio:.2f} (target <= {TARGET_IMPORT_RATIO}) "
          f"{verdict}; App() and connect() are reported, not gated")
    if args.json:
        args.json.write_text(json.dumps(medians, indent=1))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
