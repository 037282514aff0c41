"""EndpointsTable: the workspace's serving endpoints with state and sizing; refresh; delete.

Rows travel in the answer to a ``list`` request (never as a synced trait); deleting asks for
confirmation in the browser, then sends a ``delete`` request and refreshes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._adapters import normalize_task
from ._base import Facade, Part, PtWidget, Request, declare

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..wire import ServingEndpoint

ROW_COLUMNS = ("name", "ready", "config_update", "updating", "task", "model", "version",
               "min_provisioned_throughput", "max_provisioned_throughput",
               "provisioned_model_units", "scale_to_zero_enabled", "state_message", "creator",
               "created_ms")


class EndpointsPart(Part):
    scope = "endpoints"
    TRAITS: ClassVar = {
        "selected": lambda: t.Unicode(""),  # endpoint clicked in the table
        "error": lambda: t.Unicode(""),
    }

    def rows(self) -> list[dict[str, Any]]:
        """One row per endpoint, with its sizing.

        The list route only carries a summary config (no throughput), as on Databricks, so
        each endpoint is fetched too, a few at a time.
        """
        from concurrent.futures import ThreadPoolExecutor

        from ..endpoints import get_endpoint, list_endpoints
        from ..errors import NotFound

        ws = self.workspace()
        listed = sorted(list_endpoints(ws), key=lambda e: e.name)

        def full(summary: ServingEndpoint) -> ServingEndpoint | None:
            try:
                return get_endpoint(ws, summary.name)
            except NotFound:  # deleted meanwhile
                return None

        with ThreadPoolExecutor(max_workers=8) as pool:
            endpoints = [e for e in pool.map(full, listed) if e is not None]
        return [endpoint_row(e) for e in endpoints]

    def rpc_list(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        rows = self.rows()
        self.set(error="")
        return {"items": rows}

    def rpc_delete(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        from ..endpoints import delete_endpoint

        name = str(params.get("name") or "")
        if not params.get("confirmed"):
            raise ValidationError(f"Deleting '{name}' needs confirmation.")
        deleted = delete_endpoint(self.workspace(), name)
        if self.get("selected") == name:
            self.set(selected="")
        return {"name": name, "deleted": deleted}

    def refresh(self) -> None:
        """Ask every view of the table to reload its rows."""
        self.emit({"type": "refresh"})


def endpoint_row(e: ServingEndpoint) -> dict[str, Any]:
    entity = e.display_entity
    return {
        "name": e.name,
        "ready": e.state.ready or "",
        "config_update": e.state.config_update or "",
        "updating": e.is_updating,
        "task": normalize_task(e.task or ""),
        "model": (entity.entity_name or "") if entity else "",
        "version": (entity.entity_version or "") if entity else "",
        "min_provisioned_throughput": entity.min_provisioned_throughput if entity else None,
        "max_provisioned_throughput": entity.max_provisioned_throughput if entity else None,
        "provisioned_model_units": entity.provisioned_model_units if entity else None,
        "scale_to_zero_enabled": entity.scale_to_zero_enabled if entity else None,
        "state_message": e.state_message,
        "creator": e.creator or "",
        "created_ms": e.creation_timestamp,
    }


class EndpointsAPI:
    """Python methods of an endpoints table (standalone widget or ``App().endpoints``)."""

    part: EndpointsPart

    @property
    def frame(self) -> pd.DataFrame:
        """The endpoints now, as a DataFrame (one row each, with state and sizing)."""
        import pandas as pd

        rows = self.part.rows()
        frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
        frame["created"] = pd.to_datetime(frame.pop("created_ms"), unit="ms")
        return frame

    def refresh(self) -> Any:
        self.part.refresh()
        return self

    def delete(self, name: str) -> bool:
        """Delete an endpoint now (no confirmation: this is the Python API), then refresh."""
        from ..endpoints import delete_endpoint

        deleted = delete_endpoint(self.part.workspace(), name)
        self.part.refresh()
        return deleted


class EndpointsControls(EndpointsAPI, Facade):
    """``App().endpoints``: the endpoints table inside the App."""


class EndpointsTable(EndpointsAPI, PtWidget):
    """The workspace's serving endpoints: state, model, sizing; refresh; delete (confirmed)."""

    PARTS: ClassVar = {"endpoints": ("", EndpointsPart)}
    _kind = t.Unicode("endpoints").tag(sync=True)
    vars().update(declare(PARTS))
