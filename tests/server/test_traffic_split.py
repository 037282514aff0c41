"""Two served entities behind one endpoint, split by traffic percentages, over HTTP with the
unmodified databricks-sdk: each query is routed by weighted draw and the
``served-model-name`` header says which entity answered; a routes-only update keeps the
weights already loaded."""

from __future__ import annotations

import collections
from datetime import timedelta

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    Route,
    ServedEntityInput,
    TrafficConfig,
)

from ..support import optimization_info

EMBED = "system.ai.all_minilm_l6_v2"
NAME = "split-ep"
QUERIES = 400


@pytest.fixture(scope="module")
def w(workspace) -> WorkspaceClient:
    return WorkspaceClient(host=workspace.host, token=workspace.token)


@pytest.fixture(scope="module")
def chunk(workspace) -> int:
    return optimization_info(workspace, EMBED)["throughput_chunk_size"]


def entities(chunk: int) -> list[ServedEntityInput]:
    return [ServedEntityInput(name=name, entity_name=EMBED, entity_version="1",
                              min_provisioned_throughput=chunk,
                              max_provisioned_throughput=8 * chunk) for name in ("a", "b")]


def split(a: int, b: int) -> TrafficConfig:
    return TrafficConfig(routes=[Route(served_entity_name="a", traffic_percentage=a),
                                 Route(served_entity_name="b", traffic_percentage=b)])


@pytest.fixture(scope="module")
def split_endpoint(w, chunk):
    w.serving_endpoints.create_and_wait(
        name=NAME, config=EndpointCoreConfigInput(name=NAME, served_entities=entities(chunk),
                                                  traffic_config=split(80, 20)),
        timeout=timedelta(minutes=5))
    yield NAME
    w.serving_endpoints.delete(name=NAME)


def answered_by(workspace, n: int) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    with requests.Session() as session:
        for i in range(n):
            response = session.post(f"{workspace.host}/serving-endpoints/{NAME}/invocations",
                                    headers=workspace.headers, json={"input": f"text {i}"},
                                    timeout=60)
            assert response.status_code == 200, response.text
            counts[response.headers["served-model-name"]] += 1
    return counts


def test_eighty_twenty_split_lands_within_a_few_points(workspace, split_endpoint):
    counts = answered_by(workspace, QUERIES)
    assert set(counts) == {"a", "b"}
    share = counts["a"] / QUERIES
    assert abs(share - 0.8) < 0.08, counts  # 4 standard deviations of a 400-draw binomial


def test_sdk_reports_the_answering_entity(w, split_endpoint):
    answer = w.serving_endpoints.query(name=NAME, input=["hello"])
    assert answer.served_model_name in ("a", "b")
    assert len(answer.data[0].embedding) == 384


def test_query_to_one_served_model(workspace, split_endpoint):
    for entity in ("a", "b"):
        for _ in range(5):
            response = requests.post(
                f"{workspace.host}/serving-endpoints/{NAME}/served-models/{entity}/invocations",
                headers=workspace.headers, json={"input": "x"}, timeout=60)
            assert response.status_code == 200, response.text
            assert response.headers["served-model-name"] == entity
    missing = requests.post(
        f"{workspace.host}/serving-endpoints/{NAME}/served-models/ghost/invocations",
        headers=workspace.headers, json={"input": "x"}, timeout=60)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_routes_only_update_keeps_the_loaded_weights(w, workspace, chunk, split_endpoint):
    before = {e: w.serving_endpoints.build_logs(name=NAME, served_model_name=e).logs
              for e in ("a", "b")}
    assert all("ready in" in log for log in before.values())  # loaded once, at create
    updated = w.serving_endpoints.update_config_and_wait(
        name=NAME, served_entities=entities(chunk), traffic_config=split(0, 100),
        timeout=timedelta(minutes=5))
    assert updated.config.config_version == 2
    assert [(r.served_entity_name, r.traffic_percentage)
            for r in updated.config.traffic_config.routes] == [("a", 0), ("b", 100)]
    for entity in ("a", "b"):
        log = w.serving_endpoints.build_logs(name=NAME, served_model_name=entity).logs
        assert "Reusing the loaded weights" in log and "ready in" not in log, log
    assert answered_by(workspace, 20) == {"b": 20}
    w.serving_endpoints.update_config_and_wait(
        name=NAME, served_entities=entities(chunk), traffic_config=split(80, 20),
        timeout=timedelta(minutes=5))


@pytest.mark.parametrize("routes,words", [
    ([("a", 70), ("b", 20)], "add up to 100"),
    ([("a", 80), ("ghost", 20)], "ghost"),
    ([("a", 50), ("a", 50)], "again"),
])
def test_bad_splits_are_refused(w, chunk, routes, words):
    traffic = TrafficConfig(routes=[Route(served_entity_name=n, traffic_percentage=p)
                                    for n, p in routes])
    with pytest.raises(InvalidParameterValue, match=words):
        w.serving_endpoints.create(name="bad-split", config=EndpointCoreConfigInput(
            name="bad-split", served_entities=entities(chunk), traffic_config=traffic))


def test_entity_names_must_be_unique(w, chunk):
    twins = [entities(chunk)[0], entities(chunk)[0]]
    with pytest.raises(InvalidParameterValue, match="unique"):
        w.serving_endpoints.create(name="bad-split", config=EndpointCoreConfigInput(
            name="bad-split", served_entities=twins, traffic_config=split(50, 50)))
