"""Schema-driven fuzzing (schemathesis) of every operation in the server's own OpenAPI document.

The CI run is short and derandomized (the same cases every run); the long, randomized run
of 1,000+ cases is ``tests/benchmarks/fuzz_long.py``. See ``fuzzing.py`` for the checks.
"""

from __future__ import annotations

import requests

from ..support import wait_until
from .fuzzing import Targets, describe, fuzz, load_schema, operations
from .harness import CHAT, EMBED, create, integrity, list_endpoints, settled, tps_config

EXAMPLES = 6  # per operation, generation mode and path-parameter variant


def fuzz_targets(deployed) -> Targets:
    server = deployed.server
    for name, model, chunk in (("fuzz-chat", CHAT, deployed.chat_chunk),
                               ("fuzz-embed", EMBED, deployed.embed_chunk)):
        assert create(server, name, tps_config(model, chunk, chunk)).status_code == 200
        wait_until(lambda n=name: settled(server, n), 240, what=f"{name} deployed")
    response = requests.put(f"{server.host}/api/2.1/unity-catalog/models/{CHAT}/aliases/"
                            "fuzz-alias", headers=server.headers, json={"version_num": 1},
                            timeout=30)
    assert response.status_code == 200, response.text
    return Targets.of(server.host, server.token, "fuzz-chat", "fuzz-embed", CHAT, "1",
                      "fuzz-alias", "smollm2_135m_instruct-1")


def test_the_document_declares_bodies_errors_and_auth(deployed):
    server = deployed.server
    doc = requests.get(f"{server.host}/openapi.json", headers=server.headers, timeout=30).json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "422" not in op["responses"], (method, path)
            if path == "/.well-known/databricks-config":
                assert op["security"] == []
                continue
            assert op["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
            if method in ("post", "put"):
                assert op["requestBody"]["content"]["application/json"]["schema"], (method, path)


def test_fuzz_every_operation(deployed):
    server = deployed.server
    targets = fuzz_targets(deployed)
    expected_operations = {op.label for op in operations(load_schema(server.host, server.token))}
    report = fuzz(server.host, server.token, targets, EXAMPLES)
    print(report.summary())
    assert not report.failures, describe(report)
    assert report.server_errors == 0
    assert set(report.per_operation) == expected_operations
    assert report.cases >= 300
    assert report.statuses[200] > 20 and report.statuses[400] > 50
    # the workspace is still whole afterwards
    assert {e["name"] for e in list_endpoints(server)} >= {deployed.chat, deployed.embed}
    assert set(integrity(server.data_dir).values()) == {"ok"}
    assert server.proc is not None and server.proc.poll() is None
