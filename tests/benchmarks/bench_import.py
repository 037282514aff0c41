"""Benchmark: ``import pt_widgets`` against ``import ipywidgets, pandas`` (target ≤ 1.3×).

Each import runs in a fresh interpreter, alternating, many times; the medians are compared.
Also reports what ``pt_widgets.connect`` costs to import on first use (requests and
databricks-sdk's config module), which happens in ``connect()``, not at import.

    .venv/bin/python tests/benchmarks/bench_import.py [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_RATIO = 1.3
CASES = {
    "pt_widgets": "import pt_widgets",
    "ipywidgets+pandas": "import ipywidgets, pandas",
    "python -c pass": "pass",
    "pt_widgets.connect (first use)": "import pt_widgets; pt_widgets.connect; "
    "import databricks.sdk.config",
}


def wall(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for code in CASES.values():  # warm the OS file cache
        wall(code)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, code in CASES.items():
            samples[name].append(wall(code))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:34s} median {value * 1000:7.1f} ms")
    ratio = medians["pt_widgets"] / medians["ipywidgets+pandas"]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"ratio pt_widgets / (ipywidgets, pandas) = {ratio:.2f} (target ≤ {TARGET_RATIO}) "
          f"{verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
