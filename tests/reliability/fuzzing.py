"""Schema-driven fuzzing of the local workspace with schemathesis (its own OpenAPI document).

Every operation of ``/openapi.json`` is driven with generated requests, authenticated, in
two generation modes (valid data, and data that breaks the declared schema) and two kinds
of path parameters (generated, and names of real objects so requests get past the 404
into the real logic: deployed endpoints, registered models, an alias). Each answer is
checked for: no 5xx (a 503 only as the documented "still deploying" answer with
Retry-After), a declared status, content type, headers and body schema, negative data
rejected with a 4xx, auth enforced (the request without/with a wrong token is refused), and
the token never echoed back. Used by ``test_fuzz.py`` (short) and
``tests/benchmarks/fuzz_long.py`` (1,000+ cases).
"""

from __future__ import annotations

import collections
import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
MAX_NEW_TOKENS = 6


@dataclass
class Targets:
    """Real objects in the fuzzed workspace, substituted for path parameters."""

    chat_endpoint: str
    embed_endpoint: str
    model: str
    version: str
    alias: str
    served_model: str
    endpoint_ids: tuple[str, ...] = ()  # the ids the permissions routes take

    @classmethod
    def of(cls, host: str, token: str, chat_endpoint: str, embed_endpoint: str, model: str,
           version: str, alias: str, served_model: str) -> Targets:
        """Targets with the endpoints' ids read from the server."""
        ids = tuple(requests.get(f"{host}/api/2.0/serving-endpoints/{name}", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}).json()["id"]
                    for name in (chat_endpoint, embed_endpoint))
        return cls(chat_endpoint, embed_endpoint, model, version, alias, served_model, ids)

    def path_parameters(self, path: str) -> list[dict[str, str]]:
        """Sets of real path parameters for ``path`` ([] when it has none): all of them, and
        for nested paths the parent only (a real model with generated versions/aliases)."""
        if "{" not in path:
            return []
        if "/unity-catalog/" in path:
            catalog, schema, _ = self.model.split(".")
            known = {"name": catalog, "full_name": self.model, "version": self.version,
                     "alias": self.alias}
            if path.endswith("/schemas/{full_name}"):
                known["full_name"] = f"{catalog}.{schema}"
            variants = [known]
        elif "get-model-optimization-info" in path:
            variants = [{"full_name": self.model, "version": self.version}]
        elif "/permissions/" in path:
            variants = [{"serving_endpoint_id": i} for i in self.endpoint_ids]
        else:
            variants = [{"name": endpoint, "served_model_name": self.served_model,
                         "served_model": self.served_model}
                        for endpoint in (self.chat_endpoint, self.embed_endpoint)]
        names = re.findall(r"{(\w+)}", path)
        variants = [{k: v for k, v in known.items() if k in names} for known in variants]
        if len(names) > 1:
            variants.append({names[0]: variants[0][names[0]]})
        return variants


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    per_operation: collections.Counter = field(default_factory=collections.Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    server_errors: int = 0
    documented_503: int = 0
    seconds: float = 0.0

    def add_failure(self, operation: str, failure: Failure, reproduce: str) -> None:
        key = (operation, failure.title)
        self.failures.setdefault(key, f"{operation}: {failure.title}\n{failure.message}\n"
                                      f"{reproduce}")

    def summary(self) -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.cases} cases over {len(self.per_operation)} operations in "
                f"{self.seconds:.0f} s; statuses {{{codes}}}; 5xx (undocumented): "
                f"{self.server_errors}; documented 503: {self.documented_503}; distinct "
                f"failures: {len(self.failures)}")


def make_checks(token: str, report: FuzzReport) -> list:
    """The built-in conformance checks plus two of ours (5xx accounting, token echo)."""

    def no_server_error(ctx, response, case):
        if response.status_code < 500:
            return None
        if response.status_code == 503 and "Retry-After" in response.headers and \
                '"TEMPORARILY_UNAVAILABLE"' in response.text:
            report.documented_503 += 1
            return None
        report.server_errors += 1
        return not_a_server_error(ctx, response, case)

    def token_never_echoed(ctx, response, case):
        request = response.request
        sent = f"{request.url} {request.body!r}"
        if token in sent:  # the generator reuses strings it has seen, the token among them
            return None
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        if token in response.text or token in headers:
            raise Failure(operation=case.operation.label, title="Token echoed",
                          message="The bearer token appears in the response.")
        return None

    return [no_server_error, status_code_conformance, content_type_conformance,
            response_headers_conformance, response_schema_conformance, negative_data_rejection,
            ignored_auth, token_never_echoed]


def load_schema(host: str, token: str):
    schema = schemathesis.openapi.from_url(f"{host}/openapi.json",
                                           headers={"Authorization": f"Bearer {token}"},
                                           timeout=30)
    schema.config.base_url = host
    # Requests carry the real token; missing and wrong tokens are the `ignored_auth` check's
    # job (once per operation), so generated cases spend themselves on the real logic.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def operations(schema) -> list:
    """All operations, deletes last (so they do not remove targets the others need)."""
    ops = [result.ok() for result in schema.get_all_operations()]
    return sorted(ops, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def fuzz(host: str, token: str, targets: Targets, examples: int, *, seed: int | None = None,
         deadline_s: float | None = None, timeout_s: float = 120.0,
         log=lambda line: None) -> FuzzReport:
    """Run ``examples`` generated cases per operation, mode and path-parameter variant."""
    report = FuzzReport()
    schema = load_schema(host, token)
    checks = make_checks(token, report)
    auth = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    started = time.monotonic()

    def run(operation, mode, path_parameters):
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                  print_blob=False)
        @given(case=strategy)
        def one(case):
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                return
            bound_generation(case.body)
            response = case.call(session=session, headers=auth, timeout=timeout_s)
            report.cases += 1
            report.per_operation[operation.label] += 1
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=checks, headers=auth,
                                       transport_kwargs={"session": session, "headers": auth,
                                                         "timeout": timeout_s})
            except FailureGroup as group:
                for failure in group.exceptions:
                    report.add_failure(operation.label, failure, reproduction(case, response))

        if seed is not None:
            one = hypothesis_seed(seed)(one)
        with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters/body)
            one()

    for operation in operations(schema):
        variants = [None, *targets.path_parameters(operation.path)]
        for mode in MODES:
            for path_parameters in variants:
                before = report.cases
                run(operation, mode, path_parameters)
                log(f"{operation.label} [{mode.value}{', real names' if path_parameters else ''}]"
                    f": {report.cases - before} cases")
        if deadline_s is not None and time.monotonic() - started > deadline_s:
            break
    report.seconds = time.monotonic() - started
    return report


def bound_generation(body: Any) -> None:
    """Keep generated text short: the fuzzer is after the request handling, not the model.

    A chat or completion without ``max_tokens`` generates 256 tokens (seconds of CPU each);
    the value is capped where that keeps the request what it was (absent, or a valid size
    the context has room for). Values the server must refuse (huge, negative, wrong type)
    are left alone.
    """
    if not isinstance(body, dict) or not ({"messages", "prompt"} & set(body)):
        return
    requested = body.get("max_tokens", MAX_NEW_TOKENS + 1)
    if type(requested) is int and MAX_NEW_TOKENS < requested <= 1024:
        body["max_tokens"] = MAX_NEW_TOKENS


def reproduction(case, response) -> str:
    request = response.request
    body = request.body or b""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    text = re.sub(r"\s+", " ", text)[:600]
    return f"-> {request.method} {request.url} body={text!r} => {response.status_code} " \
           f"{response.text[:400]!r}"


def describe(report: FuzzReport) -> str:
    return "\n\n".join(report.failures.values())
