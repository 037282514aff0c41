"""Rollout against the real local workspace over HTTP: a second served entity next to the live
one, the traffic split between them (seen in the live config and in the ``served-model-name``
of the answers), promote, roll back, remove; bad splits raise one sentence and send nothing."""

from __future__ import annotations

import pytest

from pt_widgets.errors import ValidationError

from .conftest import EMBED_MODEL

ENDPOINT = "rollout-embed"
LIVE, CANARY = "minilm-a", "minilm-b"
MAX_QUERIES = 60  # at 50/50 both answer within 60 with probability 1 - 2**-59


@pytest.fixture(scope="module")
def chunk(ws) -> int:
    return ws.sizing_plan(EMBED_MODEL, 1).chunk_size


@pytest.fixture(scope="module")
def endpoint(ws, chunk):
    ws.deploy(ENDPOINT, EMBED_MODEL, 1, {"max_throughput": chunk}, served_entity_name=LIVE,
              timeout=600)
    yield ENDPOINT
    ws.delete_endpoint(ENDPOINT)


def answered_by(ws, endpoint: str, wanted: set[str] | None = None, n: int = 20) -> set[str]:
    """The served entities that answered up to ``n`` queries (stop early once all of
    ``wanted`` answered)."""
    seen: set[str] = set()
    for i in range(n):
        seen.add(ws.embeddings(endpoint, f"rollout probe {i}").served_model)
        if wanted is not None and wanted <= seen:
            break
    return seen


def sizes(endpoint) -> dict[str, int | None]:
    return {e.name: e.max_provisioned_throughput for e in endpoint.served_entities}


def config_version(ws, endpoint: str) -> int | None:
    return ws.endpoint(endpoint).config.config_version


def test_add_split_promote_rollback_remove(ws, endpoint, chunk):
    added = ws.add_entity(endpoint, EMBED_MODEL, 1, {"max_throughput": 2 * chunk},
                          name=CANARY, traffic=10, timeout=600)
    assert added.is_ready
    assert added.traffic == {LIVE: 90, CANARY: 10}
    assert sizes(added) == {LIVE: chunk, CANARY: 2 * chunk}  # the live one kept its sizing

    version = config_version(ws, endpoint)
    with pytest.raises(ValidationError, match=r"still gets 10 % of the traffic"):
        ws.remove_entity(endpoint, CANARY)
    assert config_version(ws, endpoint) == version

    ws.set_traffic(endpoint, {LIVE: 50, CANARY: 50}, timeout=600)
    live = ws.endpoint(endpoint)
    assert live.traffic == {LIVE: 50, CANARY: 50}
    assert sizes(live) == {LIVE: chunk, CANARY: 2 * chunk}
    assert answered_by(ws, endpoint, {LIVE, CANARY}, MAX_QUERIES) == {LIVE, CANARY}

    assert ws.promote(endpoint, CANARY, timeout=600).traffic == {LIVE: 0, CANARY: 100}
    assert answered_by(ws, endpoint) == {CANARY}

    assert ws.rollback(endpoint, timeout=600).traffic == {LIVE: 100, CANARY: 0}
    assert answered_by(ws, endpoint) == {LIVE}

    removed = ws.remove_entity(endpoint, CANARY, timeout=600)
    assert [e.name for e in removed.served_entities] == [LIVE]
    assert removed.traffic == {LIVE: 100}
    assert answered_by(ws, endpoint, n=5) == {LIVE}


@pytest.mark.parametrize(("split", "rule"), [
    ({LIVE: 60, CANARY: 30}, r"must add up to 100, got 90"),
    ({LIVE: 110, CANARY: -10}, r"whole number from 0 to 100, got 110"),
    ({LIVE: 50.5, CANARY: 49.5}, r"whole number from 0 to 100, got 50\.5"),
    ({}, r"non-empty dict"),
    ({LIVE: 50, "nobody": 50}, r"names 'nobody', which is not served by this endpoint"),
])
def test_bad_split_raises_one_sentence_and_sends_nothing(ws, endpoint, split, rule):
    version = config_version(ws, endpoint)
    with pytest.raises(ValidationError, match=rule) as caught:
        ws.set_traffic(endpoint, split)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message
    assert config_version(ws, endpoint) == version


def test_removing_the_last_entity_is_refused(ws, endpoint):
    version = config_version(ws, endpoint)
    only = ws.endpoint(endpoint).served_entities[0].name
    with pytest.raises(ValidationError, match=r"only entity .* delete the endpoint"):
        ws.remove_entity(endpoint, only)
    assert config_version(ws, endpoint) == version


@pytest.mark.parametrize(("kwargs", "rule"), [
    ({"traffic": 150}, r"traffic= must be a whole percentage from 0 to 100, got 150"),
    ({"name": LIVE}, r"already serves an entity named 'minilm-a'"),
])
def test_bad_add_entity_sends_nothing(ws, endpoint, chunk, kwargs, rule):
    version = config_version(ws, endpoint)
    with pytest.raises(ValidationError, match=rule):
        ws.add_entity(endpoint, EMBED_MODEL, 1, {"max_throughput": chunk}, **kwargs)
    assert config_version(ws, endpoint) == version
    assert [e.name for e in ws.endpoint(endpoint).served_entities] == [LIVE]
