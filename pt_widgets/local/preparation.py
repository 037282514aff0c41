"""Prepare the shipped models at start, in the background, so the first contact is quick.

On a fresh data dir the first ``get-model-optimization-info`` of the chat model used to
convert the weights and measure the chunk (``optimization.py``) while the user waited,
28-46 s on a 2-core machine, where Databricks answers at once. So the workspace starts this
preparation first thing, before MLflow's database: one thread loads and measures each
built-in ``system.ai`` source (the conversion lands in the model cache, the figure in
``calibration.json``: a restart reads both and measures nothing). The server listens
meanwhile and answers every other route; ``pt-widgets lab`` starts JupyterLab after the
server's ready line, so the two overlap.

Every source to prepare is claimed before the server listens, so an optimization-info
request that arrives during the preparation waits for the measured figure instead of
getting one that changes a moment later. Progress goes to stdout, one line per model and
one when done (``PREPARED_LINE`` / ``FINISHED_LINE``), as ``serve`` prints its ready line:
scripts and tests wait on them. ``PT_WIDGETS_PREPARE_AT_START=0`` turns the preparation
off (models are then measured on first use, as before).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from .calibration_cache import CalibrationCache
from .optimization import sizing_at
from .registry import BUILTIN_MODELS, VersionDescriptor, builtin_source_path
from .serving import hold_load

PREPARE_ENV = "PT_WIDGETS_PREPARE_AT_START"
PREPARED_LINE = "pt-widgets local workspace prepared"
FINISHED_LINE = "pt-widgets local workspace preparation finished"
# A conversion or measurement cannot be interrupted: shutdown waits this long for the current
# one, then lets it go (both write their results atomically, so nothing half-written stays).
STOP_WAIT_S = 20.0


def enabled() -> bool:
    """On unless ``PT_WIDGETS_PREPARE_AT_START`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get(PREPARE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def say_on_stdout(line: str) -> None:
    """One write per line: ``print`` writes the newline apart, and two threads' lines (the
    preparation's and the shutdown's) then run together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Preparation:
    """One background thread measuring the built-in models, each claimed from the start."""

    def __init__(self, calibration: CalibrationCache,
                 say: Callable[[str], None] = say_on_stdout) -> None:
        self.calibration = calibration
        self.say = say
        self.stopping = threading.Event()
        self.descs = builtin_versions()
        self.claims = {d.full_name: calibration.claim(d) for d in self.descs}
        self._thread = threading.Thread(target=self._run, name="preparation", daemon=True)

    def start(self) -> Preparation:
        self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        measured = cached = failed = 0
        try:
            for desc in self.descs:
                if self.stopping.is_set():
                    break
                outcome = self._prepare(desc)
                measured += outcome == "measured"
                cached += outcome == "cached"
                failed += outcome == "failed"
        finally:
            for key in self.claims.values():  # requests never wait on a preparation that ended
                self.calibration.release(key)
            self.say(f"{FINISHED_LINE} in {time.monotonic() - started:.1f} s: {measured} "
                     f"measured, {cached} from the calibration cache, {failed} failed")

    def _prepare(self, desc: VersionDescriptor) -> str:
        """Measure one source (or read its figure); say what its chunk is and how it came."""
        name = f"{desc.full_name} version {desc.version}"
        key = self.claims[desc.full_name]
        try:
            if key not in self.calibration.cached_keys():
                hold_load(lambda line: self.say(f"preparing {name}: {line}"), self.stopping)
                if self.stopping.is_set():
                    return "stopped"
            value, seconds = self.calibration.measurement(desc, claimed=True)
        except Exception as exc:  # the request that needs it measures again and reports it
            self.say(f"{PREPARED_LINE} {name}: failed ({exc})")
            return "failed"
        finally:
            self.calibration.release(key)
        sizing = sizing_at(desc, value)
        field = "model_unit_chunk_size" if sizing.scheme == "model_units" else \
            "throughput_chunk_size"
        how = "from the calibration cache" if seconds is None else f"measured in {seconds} s"
        self.say(f"{PREPARED_LINE} {name}: {field} {sizing.chunk} ({value} tokens/s, {how})")
        return "cached" if seconds is None else "measured"

    def stop(self) -> None:
        """No further model; wait a little for the one being prepared, so that its engine
        threads end before the interpreter does (once: ``serve`` stops the workspace both
        from the ASGI shutdown and on its way out)."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self._thread.is_alive():
            self.say(f"stopping: waiting up to {STOP_WAIT_S:.0f} s for the model being "
                     "prepared")
            self._thread.join(STOP_WAIT_S)


def builtin_versions() -> list[VersionDescriptor]:
    """Version 1 of each built-in model whose package is installed, described as the registry
    registers it (``Registry.ensure_builtin_models``), in ``BUILTIN_MODELS`` order: the chat
    model first, the one the quickstart asks about first. Built without the registry, so the
    preparation can start before MLflow's database is ready (on a fresh data dir creating it
    takes seconds)."""
    descs = []
    for model in BUILTIN_MODELS:
        path = builtin_source_path(model)
        if path is not None:
            descs.append(VersionDescriptor(
                full_name=model.full_name, version=1, task=model.task, kind=model.kind,
                path=str(path), filename=model.filename, sizing=model.sizing))
    return descs
