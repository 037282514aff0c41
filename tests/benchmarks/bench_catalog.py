"""Benchmark: a schema of 10,000 registered models, listed, filtered and paged in the picker.

Starts its own local workspace, seeds ``bulk.models`` with 10,000 models, and times (median
of ``--runs``) each operation next to a baseline measured in the same run: one
``GET /api/2.1/unity-catalog/catalogs`` (the cheapest authenticated call), so the ratios say
what the size of the schema costs on this machine, whatever its speed. The tests check what
these calls return; the figures live here.

    .venv/bin/python tests/benchmarks/bench_catalog.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support import BULK_MODELS, ServerProcess, seed_models  # noqa: E402


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def cases(server: ServerProcess) -> dict[str, Callable[[], object]]:
    import pt_widgets
    from pt_widgets.widgets import ModelPicker
    from tests.widgets.conftest import Recorder

    url = f"{server.host}/api/2.1/unity-catalog"
    ws = pt_widgets.connect(server.host, server.token)
    schema = {"catalog_name": "bulk", "schema_name": "models"}
    page = {"catalog": "bulk", "schema": "models", "offset": 0, "limit": 50}

    def get(path: str, **params: object) -> object:
        response = requests.get(f"{url}/{path}", params=params, headers=server.headers,
                                timeout=60)
        response.raise_for_status()
        return response.json()

    def picker_first_page() -> object:
        picker = ModelPicker(workspace=ws)
        try:
            return Recorder(picker).request("picker:models", page)
        finally:
            picker.close()

    cached = ModelPicker(workspace=ws)
    recorder = Recorder(cached)
    recorder.request("picker:models", page)  # the later pages come from this listing
    return {
        "baseline: GET catalogs": lambda: get("catalogs"),
        "REST: all 10,000 in one default page": lambda: get("models", **schema),
        "REST: 20 pages of 500": lambda: list_pages(get, schema),
        "API: name_filter over 10,000": lambda: ws.models(
            "bulk.models", name_filter="model_0999").names(),
        "picker: first page (new widget)": picker_first_page,
        "picker: a later page": lambda: recorder.request(
            "picker:models", dict(page, offset=9_950)),
    }


def list_pages(get: Callable[..., object], schema: dict[str, str]) -> int:
    token, pages = None, 0
    while True:
        body = get("models", max_results=500, **schema, **({"page_token": token} if token
                                                           else {}))
        pages += 1
        token = body.get("next_page_token")  # type: ignore[union-attr]
        if not token:
            return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pt-bench-catalog-") as tmp:
        server = ServerProcess(Path(tmp) / "ws").start()
        try:
            seed_models(server.data_dir, "bulk", "models", BULK_MODELS)
            medians = {name: timed(fn, args.runs) for name, fn in cases(server).items()}
        finally:
            server.stop()
    base = next(iter(medians.values()))
    print(f"{BULK_MODELS} models; median of {args.runs} runs; ratio to the baseline call")
    for name, value in medians.items():
        print(f"{name:40s} {value * 1000:8.1f} ms {value / base:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
