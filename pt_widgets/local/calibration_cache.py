"""The calibration cache: one replica's measured tokens/s per model source, kept on disk.

``calibration.json`` in the data dir maps a source (kind, path, file) to what one replica of
it served on this machine; a figure is measured once (one measurement at a time: two would
share the CPU and both come out low) and read from then on, across restarts.

A source can be *claimed* by the start-up preparation (``preparation.py``) before the server
listens: anyone else who needs a claimed source's figure waits until the preparation has
measured it (or gave up), so no answer ever carries a chunk that a moment later changes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .registry import VersionDescriptor, read_json


def source_key(desc: VersionDescriptor) -> str:
    """The cache's key: versions of one weights file share one figure."""
    return f"{desc.kind}:{desc.path}:{desc.filename or ''}"


class CalibrationCache:
    """Measured tokens/s per source, with claims that make others wait for a measurement."""

    def __init__(self, data_dir: Path, measure: Callable[[VersionDescriptor], float]) -> None:
        self.path = data_dir / "calibration.json"
        self.measure = measure  # desc -> tokens/s of one replica
        self._lock = threading.Lock()
        self._claims = threading.Condition()
        self._claimed: set[str] = set()

    def cached_keys(self) -> set[str]:
        """The sources whose figure ``calibration.json`` already holds."""
        return set(read_json(self.path))

    def claim(self, desc: VersionDescriptor) -> str:
        """Reserve ``desc``'s measurement for the caller (the start-up preparation): others
        wait in :meth:`measurement` until :meth:`release`."""
        key = source_key(desc)
        with self._claims:
            self._claimed.add(key)
        return key

    def release(self, key: str) -> None:
        with self._claims:
            self._claimed.discard(key)
            self._claims.notify_all()

    def measurement(self, desc: VersionDescriptor, claimed: bool = False
                    ) -> tuple[float, float | None]:
        """(tokens/s, seconds the measurement took, or None when read from the cache).

        ``claimed``: the caller holds the claim on this source (the preparation itself);
        everyone else first waits for a claim on it to be released.
        """
        key = source_key(desc)
        if not claimed:
            with self._claims:
                self._claims.wait_for(lambda: key not in self._claimed)
        with self._lock:
            cache = read_json(self.path)
            if key in cache:
                return float(cache[key]["tokens_per_second"]), None
            started = time.monotonic()
            value = round(float(self.measure(desc)), 1)  # what later reads of the cache see
            seconds = round(time.monotonic() - started, 1)
            cache = read_json(self.path)
            cache[key] = {
                "tokens_per_second": value,
                "measured_at": int(time.time()),
                "seconds": seconds,
                "cpus": os.cpu_count(),
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(self.path)
            return value, seconds
