"""Benchmark: the App's time-to-interactive next to a plain ipywidgets.IntSlider.

Starts its own local workspace and JupyterLab, opens one notebook in Debian's Chromium and
runs IntSlider and App cells alternately, timing each from "run cell" to "widget usable" in
the page's own clock. Prints the medians and the ratio (target <= 1.5x).

    .venv/bin/python tests/benchmarks/bench_widgets_tti.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.browser.lab import LabServer, browser_page, open_notebook  # noqa: E402
from tests.browser.tti import measure, report, write_notebook  # noqa: E402
from tests.support import ServerProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptw-tti-") as tmp:
        base = Path(tmp)
        server = ServerProcess(base / "workspace").start()
        try:
            folder = base / "notebooks"
            folder.mkdir()
            _, plan = write_notebook(folder, args.repeats)
            lab = LabServer(base / "lab", notebooks=folder, env={
                "DATABRICKS_HOST": server.host, "DATABRICKS_TOKEN": server.token,
                "PT_WIDGETS_HOME": str(base / "home")}).start()
            try:
                with browser_page() as page:
                    open_notebook(page, lab, "tti.ipynb")
                    result = measure(page, plan)
            finally:
                lab.stop()
        finally:
            server.stop()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
