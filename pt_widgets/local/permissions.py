"""Who may do what on a serving endpoint: the access control list, stored with the endpoint.

Shaped for users from the start: an entry names one principal (``user_name``,
``group_name`` or ``service_principal_name``) and one level. The endpoint's creator keeps
CAN_MANAGE (as the owner does on Databricks), and the ``admins`` group holds CAN_MANAGE
inherited from the ``/serving-endpoints`` root. The local workspace has one user, the
token's owner, who is an admin; enforcing the list for other users is governance work.
"""

from __future__ import annotations

from typing import Any

from .errors import not_found
from .serving import CREATOR, PRIVATE
from .store import EndpointStore

PRINCIPALS = ("user_name", "group_name", "service_principal_name")
LEVELS = {
    "CAN_MANAGE": "Can manage the endpoint: change its config and permissions, and query it",
    "CAN_QUERY": "Can query the endpoint and view its config",
    "CAN_VIEW": "Can view the endpoint's config and state",
}
ROOT = "/serving-endpoints"


def principal(entry: dict[str, Any]) -> tuple[str, str]:
    return next((key, entry[key]) for key in PRINCIPALS if entry.get(key))


class Permissions:
    """Reads and writes the list kept in each endpoint record (one transaction a change)."""

    def __init__(self, store: EndpointStore) -> None:
        self.store = store

    def _record(self, endpoint_id: str) -> dict[str, Any]:
        for record in self.store.all():
            if record["id"] == endpoint_id:
                return record
        raise not_found(f"Serving endpoint with id '{endpoint_id}' does not exist.")

    def get(self, endpoint_id: str) -> dict[str, Any]:
        return self.render(self._record(endpoint_id))

    def levels(self, endpoint_id: str) -> dict[str, Any]:
        self._record(endpoint_id)
        return {"permission_levels": [{"permission_level": level, "description": text}
                                      for level, text in LEVELS.items()]}

    def change(self, endpoint_id: str, entries: list[dict[str, Any]], replace: bool
               ) -> dict[str, Any]:
        """PUT replaces the direct entries (the creator's CAN_MANAGE stays); PATCH merges,
        one level per principal."""
        with self.store.transaction() as conn:
            record = self.store.get(self._record(endpoint_id)["name"])
            acl = {} if replace else {principal(e): e for e in acl_of(record)}
            for entry in entries:
                key = principal(entry)
                if entry.get("permission_level"):
                    acl[key] = {key[0]: key[1], "permission_level": entry["permission_level"]}
                else:
                    acl.pop(key, None)
            record[PRIVATE]["acl"] = list(acl.values())
            self.store.put(conn, record)
        return self.render(record)

    @staticmethod
    def render(record: dict[str, Any]) -> dict[str, Any]:
        """ServingEndpointPermissions: direct entries, the creator, the inherited admins."""
        owner = ("user_name", record.get("creator") or CREATOR)
        direct = {principal(e): e["permission_level"] for e in acl_of(record)}
        direct.setdefault(owner, "CAN_MANAGE")
        entries = [{key: name, "all_permissions": [{"permission_level": level,
                                                     "inherited": False}]}
                   for (key, name), level in direct.items()]
        entries.append({"group_name": "admins", "all_permissions": [{
            "permission_level": "CAN_MANAGE", "inherited": True,
            "inherited_from_object": [f"{ROOT}/"]}]})
        return {"object_id": f"{ROOT}/{record['id']}", "object_type": "serving-endpoint",
                "access_control_list": entries}


def acl_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    return record.get(PRIVATE, {}).get("acl", [])
