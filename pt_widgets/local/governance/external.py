"""Served entities with ``external_model``: validation, their wire shape, and loading one.

An endpoint's config is either all external models or none (as on Databricks). Providers
``openai`` (``openai_config.openai_api_base``, default OpenAI's) and ``custom``
(``custom_provider_config.custom_provider_url`` with ``api_key_auth`` or
``bearer_token_auth``) are served: both mean an OpenAI-compatible server, which is what vLLM,
llama.cpp's server, Ollama and another local workspace (``<host>/serving-endpoints``) are.
Other providers are refused with that advice.

Keys come as ``{{secrets/<scope>/<key>}}`` (resolved on every request, so a rotated secret
takes effect at once; the endpoint's creator must manage that scope, or the endpoint could
send someone else's key to a server of its choosing) or as the ``*_plaintext`` fields,
which are encrypted with the secrets key into the record's private part and never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import invalid
from ..runtime import ServedEntity
from ..schemas.base import NAME_PATTERN, NAME_RULE
from ..schemas.problems import shown
from ..throughput import ScalingPolicy, ThroughputLimiter
from ..validation import check_traffic
from . import ADMIN_NAME, current_caller
from .upstream import UpstreamReplica
from .vault import Vault, is_reference

TASKS = ("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")
PROVIDERS = ("openai", "custom")
OPENAI_BASE = "https://api.openai.com/v1"
UNLIMITED_TPS = 1e12  # the upstream has its own capacity; the gateway's limits still apply


@dataclass(frozen=True)
class ExternalDescriptor:
    """Stands where a registry version descriptor stands: what the entity serves."""

    task: str
    full_name: str
    version: int = 1


def is_external(config: Any) -> bool:
    entities = config.get("served_entities") if isinstance(config, dict) else None
    return isinstance(entities, list) and any(
        isinstance(e, dict) and e.get("external_model") is not None for e in entities)


def text(value: Any, where: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{where}' is required: a non-empty string (got {shown(value)}).")
    return value


def http_url(value: Any, where: str) -> str:
    url = text(value, where)
    if not url.startswith(("http://", "https://")):
        raise invalid(f"'{where}' must be an http:// or https:// URL, got {shown(url)}.")
    return url.rstrip("/")


class ExternalModels:
    """Validates external-model configs and turns stored entities into upstream replicas."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    # -- validation -----------------------------------------------------------------------
    handles = staticmethod(is_external)

    def validate(self, config: dict[str, Any], where: str = "config") -> dict[str, Any]:
        """Entities (each with ``_external``, ``_desc``, ``_sealed``) and traffic, or a 400.

        ``config`` has passed ``schemas.serving.EndpointCoreConfigInput`` (so every
        ``external_model`` has the ``ExternalModel`` shape); these are the rules across fields.
        """
        raw_list = config.get("served_entities")
        if config.get("served_models"):
            raise invalid(f"'{where}.served_models' cannot hold external models: use "
                          "served_entities.")
        entities = [self._entity(raw, f"{where}.served_entities[{i}]")
                    for i, raw in enumerate(raw_list)]
        names = [e["name"] for e in entities]
        if len(set(names)) != len(names):
            raise invalid(f"Served entity names must be unique within an endpoint, got {names}.")
        tasks = {e["_desc"].task for e in entities}
        if len(tasks) > 1:
            raise invalid(f"The external models of one endpoint must share a task, got "
                          f"{sorted(tasks)}.")
        return {"entities": entities, "traffic": check_traffic(config.get("traffic_config"),
                                                               names)}

    def _entity(self, raw: Any, where: str) -> dict[str, Any]:
        model = raw.get("external_model")
        if model is None:
            raise invalid(f"'{where}' has no external_model, but another entity of this config "
                          "does: an endpoint serves external models or other models, not both.")
        extra = sorted(k for k in raw if k not in ("name", "external_model"))
        if extra:
            raise invalid(f"'{where}.{extra[0]}' does not apply to an external model: its "
                          "server is named by external_model alone.")
        provider = model.get("provider")
        if provider not in PROVIDERS:
            raise invalid(f"'{where}.external_model.provider' {shown(provider)} is not served by "
                          "the local workspace: use 'openai' or 'custom' with any "
                          "OpenAI-compatible server.")
        upstream_name = text(model.get("name"), f"{where}.external_model.name")
        task = model.get("task")
        if task not in TASKS:
            raise invalid(f"'{where}.external_model.task' must be one of {', '.join(TASKS)}, "
                          f"got {shown(task)}.")
        echo = {"provider": provider, "name": upstream_name, "task": task}
        sealed: dict[str, str] = {}
        if provider == "openai":
            echo["openai_config"] = self._openai(model.get("openai_config"), where, sealed)
        else:
            echo["custom_provider_config"] = self._custom(model.get("custom_provider_config"),
                                                          where, sealed)
        name = raw.get("name") if raw.get("name") is not None else upstream_name
        if not re.match(NAME_PATTERN, name):
            raise invalid(f"'{where}.name' must be {NAME_RULE} (got {shown(name)}; the default "
                          "is the external model's name).")
        return {"name": name, "_external": echo, "_sealed": sealed, "_where": where,
                "_desc": ExternalDescriptor(task, f"{provider}:{upstream_name}")}

    def _openai(self, config: Any, where: str, sealed: dict[str, str]) -> dict[str, Any]:
        where = f"{where}.external_model.openai_config"
        config = config or {}
        if config.get("openai_api_type") not in (None, "openai"):
            raise invalid(f"'{where}.openai_api_type' {shown(config['openai_api_type'])} is not "
                          "served locally: only 'openai' (an OpenAI-compatible server) is.")
        echo = {k: v for k, v in config.items() if v is not None and not k.endswith("_plaintext")}
        echo["openai_api_base"] = http_url(config.get("openai_api_base") or OPENAI_BASE,
                                           f"{where}.openai_api_base")
        self._key(config, "openai_api_key", where, sealed, "api_key")
        return echo

    def _custom(self, config: Any, where: str, sealed: dict[str, str]) -> dict[str, Any]:
        where = f"{where}.external_model.custom_provider_config"
        config = config or {}
        echo: dict[str, Any] = {"custom_provider_url": http_url(
            config.get("custom_provider_url"), f"{where}.custom_provider_url")}
        api_key, bearer = config.get("api_key_auth"), config.get("bearer_token_auth")
        if api_key is not None and bearer is not None:
            raise invalid(f"'{where}' takes api_key_auth or bearer_token_auth, not both.")
        if api_key is not None:
            header = text(api_key.get("key"), f"{where}.api_key_auth.key")
            self._key(api_key, "value", f"{where}.api_key_auth", sealed, "api_key")
            echo["api_key_auth"] = {k: v for k, v in api_key.items()
                                    if k in ("key", "value") and v is not None}
            sealed["header"] = header
        if bearer is not None:
            self._key(bearer, "token", f"{where}.bearer_token_auth", sealed, "api_key")
            echo["bearer_token_auth"] = {k: v for k, v in bearer.items()
                                         if k == "token" and v is not None}
        return echo

    def _key(self, config: dict[str, Any], field: str, where: str, sealed: dict[str, str],
             slot: str) -> None:
        """Exactly one of ``field`` (a secret reference) and ``field_plaintext``."""
        reference, plain = config.get(field), config.get(f"{field}_plaintext")
        if (reference is None) == (plain is None):
            raise invalid(f"'{where}' needs exactly one of '{field}' (a {{{{secrets/<scope>/"
                          f"<key>}}}} reference) and '{field}_plaintext'.")
        if plain is not None:
            sealed[slot] = self.vault.seal(text(plain, f"{where}.{field}_plaintext"))
            return
        if not is_reference(reference):
            raise invalid(f"'{where}.{field}' must be a secret reference such as "
                          "{{secrets/my_scope/openai_key}} (or send it as "
                          f"'{field}_plaintext').")
        caller = current_caller()
        if caller is not None:
            self.vault.check_readable(caller, reference, f"{where}.{field}")
        sealed[f"{slot}_reference"] = reference.strip()

    # -- records and replicas -------------------------------------------------------------
    @staticmethod
    def entity_output(entity: dict[str, Any], created: int) -> dict[str, Any]:
        """The wire shape of a validated external entity, with its private ``_source``."""
        caller = current_caller()
        return {
            "name": entity["name"],
            "external_model": entity["_external"],
            "creator": caller.user_name if caller else ADMIN_NAME,
            "creation_timestamp": created,
            "state": {"deployment": "DEPLOYMENT_CREATING",
                      "deployment_state_message": "Creating resources for served entity."},
            "_source": {"external": True, "sealed": entity["_sealed"]},
        }

    def load(self, entity: dict[str, Any], say) -> ServedEntity:
        """A served entity whose replica forwards to the external model's server."""
        model = entity["external_model"]
        sealed = entity["_source"]["sealed"]
        if model["provider"] == "openai":
            base = model["openai_config"]["openai_api_base"]
            organization = model["openai_config"].get("openai_organization")
        else:
            base, organization = model["custom_provider_config"]["custom_provider_url"], None

        def headers() -> dict[str, str]:
            key = self._secret(sealed)
            out = {"OpenAI-Organization": organization} if organization else {}
            if key is not None:
                out[sealed.get("header") or "Authorization"] = \
                    key if sealed.get("header") else f"Bearer {key}"
            return out

        say(f"External model {model['provider']}:{model['name']} ({model['task']}), "
            f"forwarding to {base}")
        replica = UpstreamReplica(entity["name"], base, model["name"],
                                  model["task"], headers)
        limiter = ThroughputLimiter(UNLIMITED_TPS, UNLIMITED_TPS, UNLIMITED_TPS, False,
                                    policy=ScalingPolicy(max_in_flight=1024))
        desc = ExternalDescriptor(model["task"], f"{model['provider']}:{model['name']}")
        return ServedEntity(entity["name"], entity, desc, None, replica, limiter)

    def _secret(self, sealed: dict[str, str]) -> str | None:
        if "api_key_reference" in sealed:
            return self.vault.resolve(sealed["api_key_reference"])
        if "api_key" in sealed:
            return self.vault.unseal(sealed["api_key"])
        return None
