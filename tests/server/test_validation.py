"""Bad serving-endpoint requests: a 4xx naming the field and the rule, and nothing changes."""

from __future__ import annotations

import sqlite3

import pytest
import requests

CHAT = "system.ai.smollm2_135m_instruct"
CHAT_MU = "system.ai.smollm2_135m_instruct_mu"


@pytest.fixture(scope="module")
def chunk(workspace) -> int:
    return requests.get(
        f"{workspace.host}/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT}/1",
        headers=workspace.headers, timeout=120).json()["throughput_chunk_size"]


def body(chunk: int, **entity) -> dict:
    base = {"entity_name": CHAT, "entity_version": "1", "min_provisioned_throughput": chunk,
            "max_provisioned_throughput": 2 * chunk}
    base.update(entity)
    base = {k: v for k, v in base.items() if v is not DROP}
    return {"name": "val-ep", "config": {"served_entities": [base]}}


DROP = object()

# (case id, request body maker, expected status, error_code, words the message must contain)
CASES = [
    ("name-dot", lambda c: {**body(c), "name": "a.b"}, 400, "INVALID_PARAMETER_VALUE", "'name'"),
    ("name-long", lambda c: {**body(c), "name": "x" * 64}, 400, "INVALID_PARAMETER_VALUE",
     "63"),
    ("name-missing", lambda c: {"config": body(c)["config"]}, 400, "INVALID_PARAMETER_VALUE",
     "'name'"),
    ("name-path", lambda c: {**body(c), "name": "../etc"}, 400, "INVALID_PARAMETER_VALUE",
     "'name'"),
    ("config-missing", lambda c: {"name": "val-ep"}, 400, "INVALID_PARAMETER_VALUE", "'config'"),
    ("entities-empty", lambda c: {"name": "val-ep", "config": {"served_entities": []}}, 400,
     "INVALID_PARAMETER_VALUE", "served_entities"),
    ("unknown-top-field", lambda c: {**body(c), "colour": "red"}, 400,
     "INVALID_PARAMETER_VALUE", "colour"),
    ("unknown-entity-field", lambda c: body(c, speed=3), 400, "INVALID_PARAMETER_VALUE",
     "speed"),
    ("unknown-model", lambda c: body(c, entity_name="main.default.nope"), 400,
     "INVALID_PARAMETER_VALUE", "does not exist"),
    ("unknown-version", lambda c: body(c, entity_version="7"), 400,
     "INVALID_PARAMETER_VALUE", "version 7"),
    ("version-text", lambda c: body(c, entity_version="latest"), 400,
     "INVALID_PARAMETER_VALUE", "entity_version"),
    ("version-missing", lambda c: body(c, entity_version=DROP), 400,
     "INVALID_PARAMETER_VALUE", "entity_version"),
    ("negative", lambda c: body(c, min_provisioned_throughput=-c), 400,
     "INVALID_PARAMETER_VALUE", "negative"),
    ("fraction", lambda c: body(c, min_provisioned_throughput=c + 0.5), 400,
     "INVALID_PARAMETER_VALUE", "integer"),
    ("string-number", lambda c: body(c, max_provisioned_throughput=str(2 * c)), 400,
     "INVALID_PARAMETER_VALUE", "integer"),
    ("boolean-number", lambda c: body(c, max_provisioned_throughput=True), 400,
     "INVALID_PARAMETER_VALUE", "integer"),
    ("not-multiple", lambda c: body(c, max_provisioned_throughput=2 * c + 1), 400,
     "INVALID_PARAMETER_VALUE", "multiple of"),
    ("min-over-max", lambda c: body(c, min_provisioned_throughput=3 * c), 400,
     "INVALID_PARAMETER_VALUE", "must not exceed"),
    ("max-zero", lambda c: body(c, min_provisioned_throughput=0, max_provisioned_throughput=0,
                                scale_to_zero_enabled=True), 400,
     "INVALID_PARAMETER_VALUE", "at least one chunk"),
    ("huge", lambda c: body(c, max_provisioned_throughput=10**30), 400,
     "INVALID_PARAMETER_VALUE", "too large"),
    ("min-zero-no-stz", lambda c: body(c, min_provisioned_throughput=0), 400,
     "INVALID_PARAMETER_VALUE", "scale_to_zero_enabled"),
    ("units-on-tokens-model", lambda c: body(c, min_provisioned_throughput=DROP,
                                             max_provisioned_throughput=DROP,
                                             provisioned_model_units=50), 400,
     "INVALID_PARAMETER_VALUE", "min_provisioned_throughput"),
    ("tokens-on-units-model", lambda c: body(c, entity_name=CHAT_MU), 400,
     "INVALID_PARAMETER_VALUE", "provisioned_model_units"),
    ("traffic-unknown", lambda c: {**body(c), "config": {**body(c)["config"], "traffic_config": {
        "routes": [{"served_entity_name": "ghost", "traffic_percentage": 100}]}}}, 400,
     "INVALID_PARAMETER_VALUE", "ghost"),
    ("traffic-sum", lambda c: {**body(c), "config": {**body(c)["config"], "traffic_config": {
        "routes": [{"served_entity_name": "smollm2_135m_instruct-1",
                    "traffic_percentage": 60}]}}}, 400, "INVALID_PARAMETER_VALUE", "100"),
]


def stored_state(workspace) -> tuple:
    conn = sqlite3.connect(workspace.data_dir / "workspace.db")
    rows = conn.execute("SELECT name, record FROM endpoints ORDER BY name").fetchall()
    conn.close()
    listing = requests.get(f"{workspace.host}/api/2.0/serving-endpoints",
                           headers=workspace.headers, timeout=10).json()
    return rows, listing


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_create_is_rejected_and_changes_nothing(workspace, chunk, case):
    _, make, status, code, words = case
    before = stored_state(workspace)
    response = requests.post(f"{workspace.host}/api/2.0/serving-endpoints", json=make(chunk),
                             headers=workspace.headers, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error_code"] == code
    assert words in error["message"]
    assert stored_state(workspace) == before


@pytest.mark.parametrize("raw,code", [(b"{not json", "MALFORMED_REQUEST"),
                                      (b"", "MALFORMED_REQUEST"),
                                      (b"[1, 2]", "INVALID_PARAMETER_VALUE")])
def test_broken_bodies(workspace, raw, code):
    before = stored_state(workspace)
    response = requests.post(f"{workspace.host}/api/2.0/serving-endpoints", data=raw,
                             headers={**workspace.headers, "Content-Type": "application/json"},
                             timeout=10)
    assert response.status_code == 400 and response.json()["error_code"] == code
    assert stored_state(workspace) == before


def test_model_unit_endpoint_takes_units(workspace):
    info = requests.get(
        f"{workspace.host}/api/2.0/serving-endpoints/get-model-optimization-info/{CHAT_MU}/1",
        headers=workspace.headers, timeout=120).json()
    units = info["model_unit_chunk_size"]
    assert "throughput_chunk_size" not in info
    bad = requests.post(f"{workspace.host}/api/2.0/serving-endpoints/pt", headers=workspace.headers,
                        json={"name": "mu-ep", "config": {"served_entities": [
                            {"entity_name": CHAT_MU, "entity_version": "1",
                             "provisioned_model_units": units + 1}]}}, timeout=30)
    assert bad.status_code == 400 and f"multiple of {units}" in bad.json()["message"]
    good = requests.post(f"{workspace.host}/api/2.0/serving-endpoints/pt",
                         headers=workspace.headers,
                         json={"name": "mu-ep", "config": {"served_entities": [
                             {"entity_name": CHAT_MU, "entity_version": "1",
                              "provisioned_model_units": units}]}}, timeout=30)
    assert good.status_code == 200, good.text
    entity = good.json()["pending_config"]["served_entities"][0]
    assert entity["provisioned_model_units"] == units
    requests.delete(f"{workspace.host}/api/2.0/serving-endpoints/mu-ep",
                    headers=workspace.headers, timeout=10).raise_for_status()


def test_update_unknown_endpoint_is_404(workspace, chunk):
    response = requests.put(f"{workspace.host}/api/2.0/serving-endpoints/ghost/config",
                            json=body(chunk)["config"], headers=workspace.headers, timeout=10)
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_update_while_in_progress_is_409(workspace, chunk):
    created = requests.post(f"{workspace.host}/api/2.0/serving-endpoints", json={
        **body(chunk), "name": "busy-ep"}, headers=workspace.headers, timeout=30)
    assert created.status_code == 200
    try:
        again = requests.put(f"{workspace.host}/api/2.0/serving-endpoints/busy-ep/config",
                             json=body(chunk)["config"], headers=workspace.headers, timeout=10)
        # a model load takes over a second; the PUT right after the create lands during it
        assert again.status_code == 409
        assert again.json()["error_code"] == "RESOURCE_CONFLICT"
    finally:
        requests.delete(f"{workspace.host}/api/2.0/serving-endpoints/busy-ep",
                        headers=workspace.headers, timeout=10)


def test_unknown_route_is_json_404(workspace):
    response = requests.get(f"{workspace.host}/api/2.0/serving-endpoints/a/b/c",
                            headers=workspace.headers, timeout=10)
    assert response.status_code == 404 and response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
