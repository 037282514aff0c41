"""Governance of the local workspace: users and tokens, secrets, external models.

The rest of the server reaches this package through a few hook calls only:

* ``app.py``: :class:`Governance` is built beside the endpoint store, the auth gate asks
  :func:`caller_for_scope` who a request comes from (the user lands in
  ``request.state.user``), :data:`PREFIXES` are added to the paths this package's FastAPI
  app serves, and :data:`routes.router` and :data:`permission_routes.router` are included;
  the external-model handler is handed to the serving manager.
* ``serving.py``: external-model configs are validated, shaped and loaded here; an
  endpoint's ``creator`` is the calling user (:func:`access.creator_name`).
* ``routes/serving.py`` and ``routes/invocations.py``: their routers depend on
  :func:`access.endpoint_access` (permissions), the listing is filtered by
  :func:`access.visible` and GET's ``permission_level`` is the caller's
  (:func:`access.with_caller_level`); streams open through ``open_stream`` so an external
  model's connection failure is the response's status.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cached_property
from pathlib import Path

from .db import GovernanceDB
from .gateway import Gateway
from .identity import ADMIN_NAME, Identities, User
from .permissions import EndpointPermissions
from .vault import Vault

_CALLER: ContextVar[User | None] = ContextVar("pt_widgets_caller", default=None)
PREFIXES = ("/api/2.0/token/", "/api/2.0/token-management/", "/api/2.0/secrets/",
            "/api/2.0/preview/scim/v2/Me", "/api/2.0/permissions/serving-endpoints/",
            "/api/2.0/pt-widgets/")


class Governance:
    """Everything governance keeps for one data dir."""

    def __init__(self, data_dir: Path, owner_token: str | None = None) -> None:
        self.db = GovernanceDB(data_dir)
        self.identities = Identities(self.db, data_dir, owner_token)
        self.vault = Vault(self.db, data_dir)
        self.permissions = EndpointPermissions(self.db)
        self.gateway = Gateway(self.db)

    @cached_property
    def external(self):
        """External models (imports the serving runtime: not for the token CLI)."""
        from .external import ExternalModels

        return ExternalModels(self.vault)

    def close(self) -> None:
        self.db.close()


def caller_for_scope(governance: Governance, scope: dict) -> User | None:
    """The user an ASGI request authenticates as (kept in its state), or None: refuse it."""
    header = None
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            header = value
            break
    user = governance.identities.user_for_header(header)
    if user is not None:
        scope.setdefault("state", {})["user"] = user
    _CALLER.set(user)
    return user


def current_caller() -> User | None:
    """The user of the request being served (None outside a request, e.g. a deploy thread).

    A context variable, set by the gate: the serving layer's functions take no user argument,
    and FastAPI's thread pool and task groups carry the request's context along.
    """
    return _CALLER.get()


__all__ = ["ADMIN_NAME", "PREFIXES", "Governance", "User", "caller_for_scope",
           "current_caller"]
