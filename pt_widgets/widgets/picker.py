"""ModelPicker: catalog -> schema -> model -> version, with a search box.

Only the selection and what is known about it are synced traits. Lists travel as pages of
names through requests: the model names of a schema are fetched once (a schema of 10,000
models is one or a few HTTP pages) and kept here, and the browser asks for 50 at a time,
filtered by the search box, as the list scrolls; never one message per model.

The first pages are the exception: as the widget is created, the catalogs, the schemas of
the catalog the view will choose and the first 50 models of its only schema are fetched in
the background and published in the ``start`` trait. The view shows them without asking, so
the first model page appears without three request round trips in a row (catalogs, then
schemas, then models) after the view is drawn. Displaying the widget waits up to half a
second for them (``before_display``), so the view's first render usually has them; a view
drawn before the fetch is done waits for the trait; each view uses each part once and asks
the kernel, as before, for anything else.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._adapters import task_of
from ._base import Facade, Part, PtWidget, Request, WaitsForPart, declare, describe_error

if TYPE_CHECKING:  # pragma: no cover
    from ..sizing import SizingPlan

log = logging.getLogger("pt_widgets.widgets")
PAGE = 50
MAX_PAGE = 500
MAX_VERSIONS = 200


class PickerPart(Part):
    scope = "picker"
    TRAITS: ClassVar = {
        "catalog": lambda: t.Unicode(""),
        "schema": lambda: t.Unicode(""),
        "model": lambda: t.Unicode(""),  # full name catalog.schema.model
        "version": lambda: t.Unicode(""),
        "aliases": lambda: t.List(t.Unicode()),  # aliases of the chosen version
        "info_state": lambda: t.Unicode(""),  # "", "loading", "ready", "error"
        "task": lambda: t.Unicode(""),
        "eligible": lambda: t.Bool(None, allow_none=True),
        "reason": lambda: t.Unicode(""),
        "scheme": lambda: t.Unicode(""),
        "chunk_size": lambda: t.Int(0),
        "dbus_per_chunk": lambda: t.Float(None, allow_none=True),
        "model_type": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
        # {"catalogs": [...], "schemas": {catalog: [...]}, "models": {"cat.schema": page}}
        "start": lambda: t.Dict(),
    }

    def setup(self) -> None:
        self._names: dict[tuple[str, str], list[str]] = {}
        self._versions: dict[str, list[dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        self.plan: SizingPlan | None = None
        self._settled = threading.Event()
        self._settled.set()
        self._prefetched = threading.Event()
        self.observe(self._on_selection, "model", "version")
        self.submit(self.prefetch)

    def before_display(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for the first pages: see ``PtWidget._repr_mimebundle_``."""
        self._prefetched.wait(timeout)

    def prefetch(self) -> None:
        """Publish the first pages the view shows in ``start`` (see the module docstring).

        Always published, ``{"failed": True}`` on failure: a view drawn before this is done
        waits for it (instead of racing it with the same requests), and on failure asks
        itself, so its error box says why.
        """
        try:
            start = self.first_pages()
        except Exception:  # noqa: BLE001 - the view asks again and shows the error
            log.debug("pt_widgets: could not prefetch the picker's first pages", exc_info=True)
            start = {"failed": True}
        try:
            self.set(start=start)  # always: a view waits for it before asking itself
        finally:
            self._prefetched.set()

    def first_pages(self) -> dict[str, Any]:
        """The catalogs; the schemas of the chosen catalog (else ``system``, which the view
        chooses); the first page of models of the chosen schema (else the only one).

        The schemas of the likely catalog are asked for alongside the catalogs (two
        requests in a row instead of three); they are used only if that catalog exists.
        """
        from concurrent.futures import ThreadPoolExecutor

        likely = self.get("catalog") or "system"
        with ThreadPoolExecutor(max_workers=1) as side:
            likely_schemas = side.submit(self.rpc_schemas, {"catalog": likely}, None)
            catalogs = self.rpc_catalogs({}, None)["items"]
            start: dict[str, Any] = {"catalogs": catalogs}
            catalog = self.get("catalog") or ("system" if "system" in catalogs else "")
            if not catalog:
                return start
            schemas = (likely_schemas.result() if catalog == likely
                       else self.rpc_schemas({"catalog": catalog}, None))["items"]
        start["schemas"] = {catalog: schemas}
        schema = self.get("schema") or (schemas[0] if len(schemas) == 1 else "")
        if schema:
            page = self.rpc_models({"catalog": catalog, "schema": schema, "limit": PAGE}, None)
            start["models"] = {f"{catalog}.{schema}": page}
        return start

    # -- requests from the browser -----------------------------------------------------
    def rpc_catalogs(self, params: dict[str, Any], req: Request | None) -> dict[str, Any]:
        from ..catalog import list_catalogs

        return {"items": list_catalogs(self.workspace()).names()}

    def rpc_schemas(self, params: dict[str, Any], req: Request | None) -> dict[str, Any]:
        from ..catalog import list_schemas

        catalog = str(params.get("catalog") or "")
        return {"items": [s.name for s in list_schemas(self.workspace(), catalog)]}

    def model_names(self, catalog: str, schema: str, refresh: bool = False) -> list[str]:
        """Every model name of a schema (short names, sorted), fetched once and cached."""
        from ..catalog import list_models

        key = (catalog, schema)
        with self._cache_lock:
            if not refresh and key in self._names:
                return self._names[key]
        names = sorted(m.name for m in list_models(self.workspace(), catalog, schema))
        with self._cache_lock:
            self._names[key] = names
        return names

    def rpc_models(self, params: dict[str, Any], req: Request | None) -> dict[str, Any]:
        """One page of a schema's model names matching ``query`` (substring or glob)."""
        from ..catalog import name_matcher

        catalog = str(params.get("catalog") or "")
        schema = str(params.get("schema") or "")
        if not catalog or not schema:
            return {"items": [], "total": 0, "offset": 0, "schema_total": 0}
        offset = max(0, int(params.get("offset") or 0))
        limit = min(MAX_PAGE, max(1, int(params.get("limit") or PAGE)))
        started = time.perf_counter()
        names = self.model_names(catalog, schema, bool(params.get("refresh")))
        query = str(params.get("query") or "").strip()
        matching = names if not query else [n for n in names if name_matcher(query)(n)]
        return {
            "items": matching[offset:offset + limit],
            "total": len(matching),
            "offset": offset,
            "schema_total": len(names),
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def versions(self, model: str, refresh: bool = False) -> list[dict[str, Any]]:
        from ..catalog import list_versions

        with self._cache_lock:
            if not refresh and model in self._versions:
                return self._versions[model]
        rows = [
            {
                "version": str(v.version),
                "aliases": list(v.alias_names),
                "status": v.status or "",
                "comment": v.comment or "",
                "created_at": v.created_at,
            }
            for v in list_versions(self.workspace(), model, limit=MAX_VERSIONS)
        ]
        with self._cache_lock:
            self._versions[model] = rows
        return rows

    def rpc_versions(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        model = str(params.get("model") or "")
        if not model:
            return {"items": []}
        return {"items": self.versions(model, bool(params.get("refresh")))}

    # -- the chosen version: task and eligibility ----------------------------------------
    def _on_selection(self, change: dict[str, Any]) -> None:
        if change["name"] == self.prefix + "model":
            parts = str(change["new"] or "").split(".")
            if len(parts) == 3:
                self.set(catalog=parts[0], schema=parts[1])
        self.refresh_info()

    def refresh_info(self) -> None:
        """Look up the chosen version's task and eligibility in the background."""
        model, version = self.get("model"), self.get("version")
        ticket = self.next_generation()
        self.plan = None
        if not model or not version:
            self.set(info_state="", task="", eligible=None, reason="", scheme="", chunk_size=0,
                     dbus_per_chunk=None, model_type="", aliases=[])
            self._settled.set()
            return
        self._settled.clear()
        self.set(info_state="loading", eligible=None, reason="", error="")
        self.submit(self._load_info, ticket, model, version)

    def _load_info(self, ticket: int, model: str, version: str) -> None:
        from ..sizing import sizing_plan

        try:
            plan = sizing_plan(self.workspace(), model, version)
            aliases = next((v["aliases"] for v in self.versions(model)
                            if v["version"] == str(plan.version)), [])
        except Exception as exc:  # noqa: BLE001 - shown in the widget
            if self.current(ticket):
                self.set(eligible=None, error=describe_error(exc), info_state="error")
                self._settled.set()
            return
        if not self.current(ticket):
            return
        self.plan = plan
        self.set(
            task=task_of(plan.info),
            eligible=plan.eligible,
            reason=plan.reason,
            scheme=plan.scheme if plan.eligible else "",
            chunk_size=plan.chunk_size if plan.eligible else 0,
            dbus_per_chunk=plan.dbus_per_chunk,
            model_type=plan.info.model_type or "",
            aliases=list(aliases),
            error="",
            info_state="ready",  # last: observers of info_state read the rest
        )
        self._settled.set()

    # -- Python API ----------------------------------------------------------------------
    def select(self, model: str, version: int | str | None = None) -> None:
        """Choose ``catalog.schema.model`` and a version (newest when not given)."""
        parts = model.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValidationError(
                f"Give the model's full name catalog.schema.model, not {model!r}.")
        if version is None:
            found = self.versions(model, refresh=True)
            if not found:
                raise ValidationError(f"{model} has no versions.")
            version = found[0]["version"]
        else:
            from ..sizing import resolve_version

            version = resolve_version(self.workspace(), model, version)
        self.set(catalog=parts[0], schema=parts[1], model=model, version=str(version))

    def wait(self, timeout: float = 120.0) -> None:
        """Block until the chosen version's task and eligibility are known."""
        if not self._settled.wait(timeout):
            raise TimeoutError(f"No optimization info for {self.get('model')} after {timeout} s.")
        if self.get("info_state") == "error":
            from ..errors import PtWidgetsError

            raise PtWidgetsError(self.get("error"))


class PickerAPI(WaitsForPart):
    """Python methods of a picker (standalone widget or ``App().picker``)."""

    part: PickerPart

    @property
    def sizing_plan(self) -> SizingPlan | None:
        """The :class:`~pt_widgets.SizingPlan` of the chosen version (None until known)."""
        return self.part.plan

    def select(self, model: str, version: int | str | None = None) -> Any:
        """Choose ``catalog.schema.model`` and a version (the newest when not given)."""
        self.part.select(model, version)
        return self


class PickerControls(PickerAPI, Facade):
    """``App().picker``: the picker's traits and methods inside the App."""


class ModelPicker(PickerAPI, PtWidget):
    """Pick a Unity Catalog model version: catalog, schema, searchable model list, version.

    ``picker.model`` / ``picker.version`` are the selection; ``picker.task``,
    ``picker.eligible`` and ``picker.reason`` describe it as soon as a version is chosen.
    """

    PARTS: ClassVar = {"picker": ("", PickerPart)}
    _kind = t.Unicode("picker").tag(sync=True)
    vars().update(declare(PARTS))
