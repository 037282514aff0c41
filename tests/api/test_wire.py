"""Wire JSON ↔ dataclasses, held against the shapes in docs/databricks-api.md."""

from __future__ import annotations

from pt_widgets.queries import iter_sse_data, logprobs_rows
from pt_widgets.wire import (
    ChatChunk,
    ChatCompletion,
    EmbeddingsResponse,
    ModelVersion,
    OptimizationInfo,
    RegisteredModel,
    ServedEntityInput,
    ServingEndpoint,
    create_endpoint_request,
    pt_create_request,
    pt_update_request,
    update_config_request,
)

# §1.6: a create response has no `config`, a pending_config and the mirrored served_models.
CREATE_RESPONSE = {
    "name": "llama-pt",
    "id": "08f9f293f47247588069fa4e4e61a9be",
    "creator": "me@example.com",
    "creation_timestamp": 1710327769000,
    "last_updated_timestamp": 1710327769000,
    "state": {"ready": "NOT_READY", "config_update": "IN_PROGRESS", "suspend": "NOT_SUSPENDED"},
    "pending_config": {
        "start_time": 1710327769000,
        "config_version": 1,
        "served_entities": [{
            "name": "llama2-7b-1", "entity_name": "system.ai.llama2_7b", "entity_version": "1",
            "min_provisioned_throughput": 0, "max_provisioned_throughput": 970,
            "scale_to_zero_enabled": True, "workload_size": "Small",
            "workload_type": "GPU_MEDIUM", "dbus": 24.0, "min_dbus": 0.0, "max_dbus": 24.0,
            "state": {"deployment": "DEPLOYMENT_CREATING",
                      "deployment_state_message": "Creating resources for served entity."},
        }],
        "served_models": [{"name": "llama2-7b-1", "model_name": "system.ai.llama2_7b",
                           "model_version": "1"}],
        "traffic_config": {"routes": [{"served_model_name": "llama2-7b-1",
                                       "served_entity_name": "llama2-7b-1",
                                       "traffic_percentage": 100}]},
    },
    "permission_level": "CAN_MANAGE",
    "route_optimized": False,
}


def test_create_response_maps_to_a_pending_endpoint():
    ep = ServingEndpoint.from_wire(CREATE_RESPONSE)
    assert ep.name == "llama-pt" and ep.config is None
    assert ep.is_updating and not ep.is_ready and not ep.update_failed
    assert ep.served_entities == ()  # nothing is live yet: the entity is only pending
    entity = ep.pending_served_entities[0]
    assert ep.latest_served_entities == ep.pending_served_entities
    assert ep.display_entity == entity
    assert (entity.entity_name, entity.entity_version) == ("system.ai.llama2_7b", "1")
    assert entity.deployment == "DEPLOYMENT_CREATING"
    assert entity.max_dbus == 24.0
    assert ep.state_message == "Creating resources for served entity."
    assert ep.raw is CREATE_RESPONSE


def test_ready_endpoint_and_row():
    ready = dict(CREATE_RESPONSE, state={"ready": "READY", "config_update": "NOT_UPDATING"},
                 config=CREATE_RESPONSE["pending_config"])
    ready.pop("pending_config")
    ep = ServingEndpoint.from_wire(ready)
    assert ep.is_ready
    row = ep.to_row()
    assert row["entity_name"] == "system.ai.llama2_7b"
    assert row["max_provisioned_throughput"] == 970
    assert "raw" not in row


def test_during_an_update_served_entities_are_the_live_ones():
    live = {"served_entities": [{"name": "e", "entity_name": "a.b.m", "entity_version": "1",
                                 "min_provisioned_throughput": 60,
                                 "max_provisioned_throughput": 60}]}
    pending = {"served_entities": [{"name": "e", "entity_name": "a.b.m", "entity_version": "1",
                                    "min_provisioned_throughput": 60,
                                    "max_provisioned_throughput": 240}]}
    ep = ServingEndpoint.from_wire({"name": "x", "config": live, "pending_config": pending,
                                    "state": {"ready": "READY", "config_update": "IN_PROGRESS"}})
    assert ep.served_entities[0].max_provisioned_throughput == 60  # what answers now
    assert ep.pending_served_entities[0].max_provisioned_throughput == 240
    assert ep.latest_served_entities == ep.pending_served_entities  # what a deploy waits on
    assert ep.to_row()["max_provisioned_throughput"] == 60


def test_list_summary_and_legacy_served_models_parse():
    summary = {"name": "e", "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
               "config": {"served_models": [{"name": "m-3", "model_name": "a.b.m",
                                             "model_version": "3"}]}}
    entity = ServingEndpoint.from_wire(summary).served_entities[0]
    assert (entity.entity_name, entity.entity_version) == ("a.b.m", "3")


def test_failed_update_is_detected():
    failed = dict(CREATE_RESPONSE, state={"ready": "NOT_READY", "config_update": "UPDATE_FAILED"})
    assert ServingEndpoint.from_wire(failed).update_failed


def test_entity_version_int_on_the_wire_becomes_a_string():
    ep = ServingEndpoint.from_wire({"name": "e", "config": {"served_entities": [
        {"name": "x-3", "entity_name": "a.b.x", "entity_version": 3}]}})
    assert ep.served_entities[0].entity_version == "3"


def test_create_request_has_config_name_and_drops_unset_fields():
    entity = ServedEntityInput("system.ai.llama2_7b", "1", min_provisioned_throughput=970,
                               max_provisioned_throughput=1940, scale_to_zero_enabled=False)
    body = create_endpoint_request("llama-pt", [entity], tags={"team": "ml"})
    assert body == {
        "name": "llama-pt",
        "config": {"name": "llama-pt", "served_entities": [{
            "entity_name": "system.ai.llama2_7b", "entity_version": "1",
            "min_provisioned_throughput": 970, "max_provisioned_throughput": 1940,
            "scale_to_zero_enabled": False}]},
        "tags": [{"key": "team", "value": "ml"}],
    }
    assert update_config_request([entity]) == {"served_entities": body["config"]["served_entities"]}


def test_named_entity_gets_an_explicit_route():
    entity = ServedEntityInput("a.b.c", "2", name="c-2", max_provisioned_throughput=10,
                               min_provisioned_throughput=10)
    routes = update_config_request([entity])["traffic_config"]["routes"]
    assert routes == [{"served_entity_name": "c-2", "traffic_percentage": 100}]


def test_model_unit_requests_use_pt_served_model_fields_only():
    entity = ServedEntityInput("system.ai.gpt_oss", "1", provisioned_model_units=50,
                               scale_to_zero_enabled=False)
    body = pt_create_request("oss", [entity])
    assert body == {"name": "oss", "config": {"served_entities": [
        {"entity_name": "system.ai.gpt_oss", "entity_version": "1",
         "provisioned_model_units": 50}]}}
    assert pt_update_request([entity]) == {"config": body["config"]}


def test_optimization_info_both_schemes_and_ineligible():
    tps = OptimizationInfo.from_wire({"optimizable": True, "model_type": "llama",
                                      "throughput_chunk_size": 970, "dbus": 24})
    assert (tps.throughput_chunk_size, tps.dbus, tps.model_unit_chunk_size) == (970, 24.0, None)
    mu = OptimizationInfo.from_wire({"optimizable": True, "model_unit_chunk_size": 50})
    assert mu.model_unit_chunk_size == 50
    off = OptimizationInfo.from_wire({"optimizable": False, "reason": "no task"})
    assert not off.optimizable and off.raw["reason"] == "no task"
    assert not OptimizationInfo.from_wire({}).optimizable


def test_uc_objects_with_aliases():
    model = RegisteredModel.from_wire({
        "name": "m", "catalog_name": "main", "schema_name": "default",
        "aliases": [{"alias_name": "champion", "version_num": 2}]})
    assert model.full_name == "main.default.m"
    assert model.aliases[0].version_num == 2
    version = ModelVersion.from_wire({"model_name": "m", "catalog_name": "main",
                                      "schema_name": "default", "version": 2,
                                      "aliases": [{"alias_name": "champion", "version_num": 2}]})
    assert version.full_name == "main.default.m" and version.alias_names == ("champion",)


CHAT = {
    "id": "chatcmpl_1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{
        "index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop",
        "logprobs": {"content": [
            {"token": "H", "logprob": -0.1, "bytes": [72],
             "top_logprobs": [{"token": "H", "logprob": -0.1, "bytes": [72]},
                              {"token": "Y", "logprob": -2.5, "bytes": None}]},
            {"token": "i", "logprob": -0.3, "bytes": None, "top_logprobs": []},
        ]},
    }],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


def test_chat_completion_keeps_finish_reason_and_logprobs():
    done = ChatCompletion.from_wire(CHAT)
    choice = done.choices[0]
    assert (choice.content, choice.finish_reason, choice.role) == ("Hi", "stop", "assistant")
    assert [t.token for t in choice.logprobs] == ["H", "i"]
    assert choice.logprobs[0].top_logprobs[1].token == "Y"
    assert done.usage.total_tokens == 7
    rows = logprobs_rows(choice.logprobs)
    assert rows[0]["rank"] == 1 and rows[0]["top_tokens"] == ["H", "Y"]
    assert 0.9 < rows[0]["probability"] < 1


def test_completions_and_legacy_predictions_shapes():
    text = ChatCompletion.from_wire({"object": "text_completion", "choices": [
        {"index": 0, "text": "abc", "finish_reason": "length", "logprobs": None}]})
    assert text.choices[0].content == "abc" and text.choices[0].logprobs == ()
    legacy = ChatCompletion.from_wire({"predictions": [{
        "candidates": [{"text": "x", "metadata": {"finish_reason": "length"}}],
        "metadata": {"input_tokens": 41, "output_tokens": 100, "total_tokens": 141}}]})
    assert legacy.choices[0].content == "x" and legacy.choices[0].finish_reason == "length"
    assert legacy.usage.total_tokens == 141


def test_embeddings_are_sorted_by_index():
    data = EmbeddingsResponse.from_wire({"object": "list", "data": [
        {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
        {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}],
        "usage": {"prompt_tokens": 4, "total_tokens": 4}})
    assert [d.embedding for d in data.data] == [(1.0, 0.0), (0.0, 1.0)]
    assert data.usage.completion_tokens is None


def test_sse_lines_decode_until_done():
    lines = [
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}', b"",
        b'data: {"choices":[{"index":0,"delta":{"content":"He"}}]}', b"",
        b": a comment line", b"",
        b'data: {"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
        b"data: [DONE]",
        b'data: {"never": "read"}',
    ]
    chunks = [ChatChunk.from_wire(d) for d in iter_sse_data(lines)]
    assert "".join(c.choices[0].content for c in chunks) == "Hey"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.total_tokens == 5


def test_sse_error_object_raises():
    import pytest

    from pt_widgets.errors import ApiError

    with pytest.raises(ApiError, match="engine crashed"):
        list(iter_sse_data(['data: {"error_code": "INTERNAL_ERROR", "message": "engine crashed"}']))


def test_the_failed_entitys_reason_comes_before_an_aborted_ones():
    """A two-entity config that failed on its second entity (e.g. a capacity shortage on the
    larger one): the reason is the failed entity's, not the first entity's "Aborted"."""
    def entity(name: str, deployment: str, message: str) -> dict:
        return {"name": name, "entity_name": "a.b.m", "entity_version": "1",
                "min_provisioned_throughput": 60, "max_provisioned_throughput": 60,
                "state": {"deployment": deployment, "deployment_state_message": message}}

    failed = dict(CREATE_RESPONSE, state={"ready": "NOT_READY", "config_update": "UPDATE_FAILED"},
                  pending_config={"served_entities": [
                      entity("v1", "DEPLOYMENT_ABORTED", "Aborted: another served entity of this "
                             "config failed."),
                      entity("v2", "DEPLOYMENT_FAILED", "Insufficient capacity: …")]})
    assert ServingEndpoint.from_wire(failed).state_message == "Insufficient capacity: …"
