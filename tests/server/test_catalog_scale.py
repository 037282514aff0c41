"""A schema with 10,000 registered models lists page by page, with nothing lost or repeated.

How fast it lists is measured by ``tests/benchmarks/bench_widgets_tti.py`` and the API
benchmarks, not asserted here."""

from __future__ import annotations

import requests

from ..support import BULK_MODELS as N_MODELS


def list_all(server, params: dict) -> tuple[list[str], int]:
    names, pages, token = [], 0, None
    while True:
        query = dict(params, **({"page_token": token} if token else {}))
        body = requests.get(f"{server.host}/api/2.1/unity-catalog/models", params=query,
                            headers=server.headers, timeout=30).json()
        names += [m["full_name"] for m in body["registered_models"]]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            return names, pages


def test_ten_thousand_models_page_completely(bulk_workspace):
    server = bulk_workspace
    catalogs = requests.get(f"{server.host}/api/2.1/unity-catalog/catalogs",
                            headers=server.headers, timeout=30).json()["catalogs"]
    assert "bulk" in [c["name"] for c in catalogs]

    names, pages = list_all(server, {"catalog_name": "bulk", "schema_name": "models",
                                     "max_results": 500})
    assert pages == N_MODELS // 500
    assert names == sorted(names) and len(set(names)) == N_MODELS

    # no max_results: the server's default page holds the whole schema, in the same order
    body = requests.get(f"{server.host}/api/2.1/unity-catalog/models", headers=server.headers,
                        params={"catalog_name": "bulk", "schema_name": "models"},
                        timeout=30).json()
    assert [m["full_name"] for m in body["registered_models"]] == names
    assert "next_page_token" not in body


def register(server, name: str) -> None:
    response = requests.post(f"{server.host}/api/2.0/mlflow/registered-models/create",
                             headers=server.headers, json={"name": name}, timeout=30)
    assert response.status_code == 200, response.text


def unregister(server, name: str) -> None:
    requests.delete(f"{server.host}/api/2.0/mlflow/registered-models/delete",
                    headers=server.headers, json={"name": name}, timeout=30)


def page(server, token: str | None = None, size: int = 500) -> dict:
    params = {"catalog_name": "bulk", "schema_name": "models", "max_results": size}
    return requests.get(f"{server.host}/api/2.1/unity-catalog/models", headers=server.headers,
                        params=dict(params, **({"page_token": token} if token else {})),
                        timeout=30).json()


def test_a_page_token_is_a_keyset_so_models_added_meanwhile_shift_nothing(bulk_workspace):
    """Between two pages a model is registered before the cursor and one after it: the next
    page neither repeats nor skips a name (an offset token would repeat model_00499), and the
    later model appears in its place."""
    server = bulk_workspace
    first = page(server)
    seen = [m["full_name"] for m in first["registered_models"]]
    assert seen[-1] == "bulk.models.model_00499"
    before, after = "bulk.models.model_00000a", "bulk.models.model_00700a"
    try:
        register(server, before)
        register(server, after)
        second = [m["full_name"] for m in page(server, first["next_page_token"])
                  ["registered_models"]]
        assert second[0] == "bulk.models.model_00500"
        assert second == sorted(second) and not set(second) & set(seen)
        assert second[200:202] == ["bulk.models.model_00700", after]
        assert len(second) == 500 and second[-1] == "bulk.models.model_00998"
    finally:
        unregister(server, before)
        unregister(server, after)
    listed = [m["full_name"] for m in page(server, size=2)["registered_models"]]
    assert listed == ["bulk.models.model_00000", "bulk.models.model_00001"]  # cleaned up
