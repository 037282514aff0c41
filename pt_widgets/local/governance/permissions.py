"""Serving-endpoint permissions: Databricks' levels, who holds which, and what each allows.

Levels, each including the ones before: ``CAN_VIEW`` (get, list, logs, metrics, OpenAPI),
``CAN_QUERY`` (+ invocations), ``CAN_MANAGE`` (+ update, delete, config, gateway, tags,
permissions). An endpoint's creator holds ``CAN_MANAGE``, admins manage everything, and
grants name a user or the ``users`` group (every user). Grants are keyed by the endpoint's
``id``, so a new endpoint under a deleted one's name inherits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ApiError, invalid
from .db import GovernanceDB
from .identity import User

LEVELS = ("CAN_VIEW", "CAN_QUERY", "CAN_MANAGE")
DESCRIPTIONS = {
    "CAN_VIEW": "Can view the endpoint, its config, logs and metrics",
    "CAN_QUERY": "Can view and query the endpoint",
    "CAN_MANAGE": "Can view, query, update and delete the endpoint and manage its permissions",
}
ALL_USERS = "group:users"


def rank(level: str | None) -> int:
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def principal_key(entry: dict[str, Any], where: str) -> str:
    """``user:<name>`` or ``group:users`` from an access-control entry, or a 400."""
    named = {k: entry.get(k) for k in ("user_name", "group_name", "service_principal_name")
             if entry.get(k) is not None}
    if len(named) != 1:
        raise invalid(f"'{where}' must name exactly one of user_name, group_name and "
                      "service_principal_name.")
    (kind, name), = named.items()
    if kind == "service_principal_name":
        raise invalid(f"'{where}.service_principal_name': the local workspace has no service "
                      "principals; grant a user (or the 'users' group).")
    if kind == "group_name":
        if name != "users":
            raise invalid(f"'{where}.group_name' {name!r:.80} is not a group here: the local "
                          "workspace has 'users' (everyone) and 'admins' (managing all).")
        return ALL_USERS
    return f"user:{name}"


@dataclass(frozen=True)
class Grant:
    principal: str
    level: str


class EndpointPermissions:
    """Grants in the governance database and the level a user holds on an endpoint."""

    def __init__(self, db: GovernanceDB) -> None:
        self.db = db

    def grants(self, endpoint_id: str) -> list[Grant]:
        rows = self.db.rows("SELECT principal, level FROM endpoint_grants WHERE endpoint_id = ? "
                            "ORDER BY principal", (endpoint_id,))
        return [Grant(*r) for r in rows]

    def level(self, user: User, record: dict[str, Any]) -> str | None:
        """The caller's own level on an endpoint record (None: no access at all)."""
        if user.is_admin or record.get("creator") == user.user_name:
            return "CAN_MANAGE"
        best = None
        for grant in self.grants(record.get("id", "")):
            if grant.principal in (ALL_USERS, f"user:{user.user_name}") and \
                    rank(grant.level) > rank(best):
                best = grant.level
        return best

    def require(self, user: User, record: dict[str, Any], needed: str) -> str:
        held = self.level(user, record)
        if rank(held) < rank(needed):
            raise ApiError("PERMISSION_DENIED", f"User {user.user_name} does not have {needed} "
                           f"permission on serving endpoint '{record['name']}' (holds "
                           f"{held or 'no permission'}).")
        return held

    def apply(self, endpoint_id: str, acl: Any, known_users: set[str],
              replace: bool) -> None:
        """PUT (``replace``) or PATCH an access-control list; all of it or nothing."""
        if not isinstance(acl, list):
            raise invalid("'access_control_list' must be a list.")
        grants: dict[str, str] = {}
        for i, entry in enumerate(acl):
            where = f"access_control_list[{i}]"
            if not isinstance(entry, dict):
                raise invalid(f"'{where}' must be an object.")
            principal = principal_key(entry, where)
            if principal.startswith("user:") and principal[5:] not in known_users:
                raise invalid(f"'{where}.user_name': user {principal[5:]!r:.80} does not exist "
                              "(create one with `pt-widgets local token create --user`).")
            level = entry.get("permission_level")
            if level not in LEVELS:
                raise invalid(f"'{where}.permission_level' must be one of {', '.join(LEVELS)}, "
                              f"got {level!r:.80}.")
            grants[principal] = level
        with self.db.transaction() as conn:
            if replace:
                conn.execute("DELETE FROM endpoint_grants WHERE endpoint_id = ?", (endpoint_id,))
            for principal, level in grants.items():
                conn.execute("INSERT INTO endpoint_grants (endpoint_id, principal, level) "
                             "VALUES (?, ?, ?) ON CONFLICT(endpoint_id, principal) DO UPDATE "
                             "SET level = excluded.level", (endpoint_id, principal, level))

    def object_permissions(self, record: dict[str, Any]) -> dict[str, Any]:
        """The ``ObjectPermissions`` wire shape of an endpoint."""
        object_id = f"/serving-endpoints/{record['id']}"
        acl: list[dict[str, Any]] = []
        creator = record.get("creator")
        direct = {g.principal: g.level for g in self.grants(record["id"])}
        if creator:
            direct[f"user:{creator}"] = "CAN_MANAGE"
        for principal, level in sorted(direct.items()):
            kind, name = principal.split(":", 1)
            key = "user_name" if kind == "user" else "group_name"
            acl.append({key: name, "display_name": name, "all_permissions": [
                {"permission_level": level, "inherited": False}]})
        acl.append({"group_name": "admins", "all_permissions": [
            {"permission_level": "CAN_MANAGE", "inherited": True,
             "inherited_from_object": ["/serving-endpoints/"]}]})
        return {"object_id": object_id, "object_type": "serving-endpoint",
                "access_control_list": acl}
