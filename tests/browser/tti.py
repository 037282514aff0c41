"""Time-to-interactive of a widget in a real JupyterLab page, next to a plain IntSlider.

Clock: the page's ``performance.now()``, from the moment a cell is run to the moment a
MutationObserver sees the widget's interactive element inside that cell's output. Both
widgets are measured in the same page and kernel, alternately, several times.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import nbformat

INT_SLIDER_READY = ".widget-slider .noUi-handle"
APP_READY = "[data-testid=ptw-app][data-ready=true]"
APP_LOADED = "[data-testid=ptw-app] [data-testid=catalog] option[value=system]"
# the first page of the catalog's model list: what a user reads first, after the catalogs
APP_MODELS = "[data-testid=ptw-app] [data-testid=model-list] li.ptw-option"

MEASURE_JS = """
async ([index, selectors, timeout]) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cell = panel.content.widgets[index];
    const seen = {};
    const t0 = performance.now();
    const done = new Promise((resolve, reject) => {
        const check = () => {
            for (const s of selectors) {
                if (!(s in seen) && cell.node.querySelector(s)) seen[s] = performance.now() - t0;
            }
            if (selectors.every((s) => s in seen)) { observer.disconnect(); resolve(seen); }
        };
        const observer = new MutationObserver(check);
        observer.observe(cell.node, { childList: true, subtree: true, attributes: true });
        setTimeout(() => { observer.disconnect(); reject(new Error('not interactive in time')); },
                   timeout);
    });
    panel.content.activeCellIndex = index;
    panel.content.deselectAll();
    window.jupyterapp.commands.execute('notebook:run-cell');
    return await done;
}
"""


def write_notebook(folder: Path, repeats: int) -> tuple[Path, list[tuple[str, int]]]:
    """A notebook: imports, then IntSlider and App cells alternately."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [nbformat.v4.new_code_cell("import ipywidgets\nfrom pt_widgets.widgets import App")]
    plan: list[tuple[str, int]] = []
    for _ in range(repeats):
        for kind, source in (("IntSlider", "ipywidgets.IntSlider()"), ("App", "App()")):
            plan.append((kind, len(cells)))
            cells.append(nbformat.v4.new_code_cell(source))
    nb.cells = cells
    path = folder / "tti.ipynb"
    nbformat.write(nb, path)
    return path, plan


def measure(page: Any, plan: list[tuple[str, int]], timeout_ms: int = 60_000) -> dict[str, Any]:
    from .lab import run_cell, wait_kernel_idle

    run_cell(page, 0)  # imports (both libraries warm, as in a notebook that uses them)
    wait_kernel_idle(page)
    samples: dict[str, list[float]] = {"IntSlider": [], "App": [], "App data": [],
                                       "App models": []}
    for kind, index in plan:
        selectors = ([INT_SLIDER_READY] if kind == "IntSlider"
                     else [APP_READY, APP_LOADED, APP_MODELS])
        seen = page.evaluate(MEASURE_JS, [index, selectors, timeout_ms])
        if kind == "IntSlider":
            samples["IntSlider"].append(seen[INT_SLIDER_READY])
        else:
            samples["App"].append(seen[APP_READY])
            samples["App data"].append(seen[APP_LOADED])
            samples["App models"].append(seen[APP_MODELS])
        wait_kernel_idle(page)
    return summarize(samples)


def summarize(samples: dict[str, list[float]]) -> dict[str, Any]:
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "samples_ms": {k: [round(x, 1) for x in v] for k, v in samples.items()},
        "median_ms": {k: round(v, 1) for k, v in med.items()},
        "first_ms": {k: round(v[0], 1) for k, v in samples.items()},
        "ratio": round(med["App"] / med["IntSlider"], 2),
        "ratio_first": round(samples["App"][0] / samples["IntSlider"][0], 2),
        "ratio_with_data": round(med["App data"] / med["IntSlider"], 2),
        "ratio_with_models": round(med["App models"] / med["IntSlider"], 2),
    }


def report(result: dict[str, Any]) -> str:
    med, first = result["median_ms"], result["first_ms"]
    rows = [("ipywidgets.IntSlider", "IntSlider"), ("pt_widgets App", "App"),
            ("App with catalogs", "App data"), ("App with model page", "App models")]
    lines = ["time to interactive (cell run -> widget usable), same JupyterLab page:"]
    for label, key in rows:
        lines.append(f"  {label:<21}: median {med[key]:7.1f} ms  (first {first[key]:.1f})")
    lines.append(f"  ratio App/IntSlider  : {result['ratio']:.2f}x median, "
                 f"{result['ratio_first']:.2f}x first (target <= 1.5x); "
                 f"with catalogs {result['ratio_with_data']:.2f}x, with the first model page "
                 f"{result['ratio_with_models']:.2f}x")
    return "\n".join(lines)
