"""Benchmark: a new user's first click on the chat model, with and without the preparation.

What ``pt-widgets lab`` does on a fresh data dir, step by step: the local workspace starts
(``serve``, its ready line), then JupyterLab starts (a real ``jupyter lab``, see
``tests/browser/lab.py``); the user's click on the chat model is the App's
``GET …/get-model-optimization-info/system.ai.smollm2_135m_instruct/1``, sent here the
moment JupyterLab answers (the earliest a click can come; ``--click-after S`` adds the time
a user takes to open the notebook and run its first cell). Three cases, one run:

- ``lazy`` (baseline, ``PT_WIDGETS_PREPARE_AT_START=0``, the behaviour before): the click
  converts the weights and measures the chunk while the App shows "Checking…";
- ``prepared``: the server prepares at start, overlapping JupyterLab's start;
- ``restart``: the ``prepared`` data dir started again (nothing to convert or measure).

Each fresh case gets its own data dir *and* model cache (a new user has neither), unless
``--model-cache DIR`` shares one (conversion then happens once, in the first case). The
target (issue 12, part 6): the first answer within 2 s of the click. Also printed: the chunk
each case measured (a preparation that overlaps JupyterLab's start measures under that
load) and when the preparation finished, counted from the server's ready line.

    .venv/bin/python tests/benchmarks/bench_first_contact.py [--click-after 0] [--json out]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.browser.lab import LabServer  # noqa: E402
from tests.support import ServerProcess  # noqa: E402

CHAT = "system.ai.smollm2_135m_instruct"
FINISHED = "pt-widgets local workspace preparation finished"
TARGET_S = 2.0


def watch_for(server: ServerProcess, text: str, started: float) -> dict[str, float]:
    """Seconds from ``started`` until ``server`` prints a line containing ``text`` (filled in
    by a thread, as the line comes)."""
    seen: dict[str, float] = {}

    def poll() -> None:
        while server.proc is not None and "s" not in seen:
            if any(text in line for line in list(server.output)):
                seen["s"] = time.monotonic() - started
                return
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()
    return seen


def click(server: ServerProcess) -> tuple[float, int]:
    """(seconds, chunk) of the App's optimization-info call for the chat model."""
    started = time.monotonic()
    response = requests.get(f"{server.host}/api/2.0/serving-endpoints/get-model-optimization-"
                            f"info/{CHAT}/1", headers=server.headers, timeout=600)
    response.raise_for_status()
    return time.monotonic() - started, int(response.json()["throughput_chunk_size"])


def run_case(name: str, server: ServerProcess, base: Path, click_after: float) -> dict:
    """Start the server, then JupyterLab, then click; the figures of that first contact."""
    launched = time.monotonic()
    server.start()
    ready = time.monotonic()
    finished = watch_for(server, FINISHED, ready)
    lab = LabServer(base / f"lab-{name}")
    try:
        lab.start(timeout=300)
        lab_ready = time.monotonic() - ready
        if click_after > 0:
            time.sleep(click_after)  # the user opening the notebook (a benchmark, not a test)
        clicked_at = time.monotonic() - ready
        seconds, chunk = click(server)
    finally:
        lab.stop()
    if server.env.get("PT_WIDGETS_PREPARE_AT_START") == "1":
        deadline = time.monotonic() + 600
        while "s" not in finished and time.monotonic() < deadline:
            time.sleep(0.1)
    return {"case": name, "server_ready_s": round(ready - launched, 2),
            "lab_ready_after_server_s": round(lab_ready, 2),
            "click_after_server_s": round(clicked_at, 2), "first_answer_s": round(seconds, 2),
            "chunk": chunk, "prepared_after_server_s": finished.get("s")}


def new_server(base: Path, name: str, prepare: bool, model_cache: Path | None) -> ServerProcess:
    data_dir = base / f"data-{name}"
    cache = model_cache or data_dir / "model-cache"  # a new user's default: inside the data dir
    return ServerProcess(data_dir, env={"PT_WIDGETS_PREPARE_AT_START": "1" if prepare else "0",
                                        "PT_WIDGETS_MODEL_CACHE": str(cache),
                                        "PT_WIDGETS_CALIBRATION_SECONDS": "8",
                                        # the product's sizing, as a new user gets it
                                        "PT_WIDGETS_CAPACITY_CHUNKS": "4",
                                        "PT_WIDGETS_CAPACITY_MACHINES": "1"})


def report(rows: list[dict]) -> None:
    base = rows[0]["first_answer_s"]
    print(f"{'case':10s} {'server up':>9s} {'lab up':>7s} {'click':>7s} {'answer':>8s} "
          f"{'vs lazy':>8s} {'chunk':>6s} {'prepared':>9s}  target <= {TARGET_S} s")
    for row in rows:
        prepared = row["prepared_after_server_s"]
        print(f"{row['case']:10s} {row['server_ready_s']:8.1f}s "
              f"{row['lab_ready_after_server_s']:6.1f}s {row['click_after_server_s']:6.1f}s "
              f"{row['first_answer_s']:7.2f}s "
              f"{row['first_answer_s'] / base:7.3f}x {row['chunk']:6d} "
              f"{'-' if prepared is None else f'{prepared:8.1f}s'}  "
              f"{'met' if row['first_answer_s'] <= TARGET_S else 'MISSED'}")
    print("(times after 'server up' are counted from the server's ready line; 'chunk' is "
          "throughput_chunk_size of the chat model as each case measured it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--click-after", type=float, default=0.0,
                        help="seconds between JupyterLab answering and the click")
    parser.add_argument("--model-cache", type=Path, default=None,
                        help="share this model cache between the cases (default: each fresh "
                        "data dir has its own, as a new user's has)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-first-contact-") as tmp:
        base = Path(tmp)
        for name, prepare in (("lazy", False), ("prepared", True)):
            server = new_server(base, name, prepare, args.model_cache)
            try:
                rows.append(run_case(name, server, base, args.click_after))
            finally:
                server.stop()
            if prepare:
                try:
                    rows.append(run_case("restart", server, base, args.click_after))
                finally:
                    server.stop()
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
