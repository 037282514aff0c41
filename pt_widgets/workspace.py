"""Connect to a workspace (Databricks or local): resolve host and credentials.

How requests are sent and retried lives in :mod:`pt_widgets.transport`;
:meth:`Workspace.request` hands it this workspace's session, host and auth headers.

Why our own HTTP instead of the SDK's ``ApiClient``: the SDK retries connection errors and
429s for up to 300 s with no way to cancel, drops ``logprobs`` from query answers and cannot
stream. We reuse what the SDK is good at, *resolving* a workspace (explicit arguments,
``DATABRICKS_*`` environment, ``~/.databrickscfg`` profiles, notebook-native auth) and
producing fresh auth headers, and send requests with ``requests`` under our own policy:
connection failures give up within seconds in one sentence, 429/503 honour ``Retry-After``
within a bounded budget, and every sleep can be cancelled.

The token never leaves this object: no ``repr``, ``str`` or log line contains it.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    NotConfigured,
    PtWidgetsError,
    WorkspaceUnreachable,
)
from .transport import (  # noqa: F401 - RetryPolicy, NO_RETRY, retry_delay: long-standing names here
    NO_RETRY,
    START_LOCAL_HINT,
    RetryPolicy,
    decode_json,
    is_loopback,
    query_params,
    retry_delay,
    send,
    unreachable_sentence,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

__all__ = [
    "RetryPolicy",
    "Workspace",
    "connect",
    "find_local_workspace",
    "pt_widgets_home",
    "retry_delay",
    "START_LOCAL_HINT",
]

log = logging.getLogger(__name__)

_WELL_KNOWN = "/.well-known/databricks-config"
_SDK_PROBE_WARNING = "Failed to automatically resolve config from host metadata"


# --------------------------------------------------------------------------- local discovery


def pt_widgets_home() -> Path:
    """The per-user state folder: ``$PT_WIDGETS_HOME`` or ``~/.pt_widgets``."""
    return Path(os.environ.get("PT_WIDGETS_HOME") or Path.home() / ".pt_widgets")


def _answers(host: str, timeout: float) -> bool:
    try:
        resp = requests.get(host.rstrip("/") + _WELL_KNOWN, timeout=timeout)
    except requests.RequestException:
        return False
    return resp.status_code == 200


def find_local_workspace(
    home: str | os.PathLike[str] | None = None, timeout: float = 1.0
) -> tuple[str, str] | None:
    """``(host, token)`` of a running local workspace, or ``None``.

    Reads the files the local server writes (``local/workspace.json`` and ``local/token``)
    and checks that the host answers ``/.well-known/databricks-config`` within ``timeout``,
    so a stale file left by a crashed server is ignored rather than used.
    """
    folder = Path(home) if home is not None else pt_widgets_home()
    try:
        info = json.loads((folder / "local" / "workspace.json").read_text())
        token = (folder / "local" / "token").read_text().strip()
    except (OSError, ValueError):
        return None
    host = info.get("host") if isinstance(info, dict) else None
    if not host or not token or not _answers(host, timeout):
        return None
    return str(host).rstrip("/"), token


# --------------------------------------------------------------------------- connect


class _DropProbeWarning(logging.Filter):
    """Hide the SDK's host-metadata warning: an unreachable host gets our own sentence."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _SDK_PROBE_WARNING not in record.getMessage()


def _with_scheme(host: str | None) -> str | None:
    """``localhost:8080`` means http: the SDK would assume https and fail the TLS handshake."""
    if host and "://" not in host and is_loopback("http://" + host):
        return "http://" + host
    return host


def _config_error_sentence(text: str, host: str | None) -> str:
    """The SDK's resolution error, cut to its first sentence (it appends a debug dump)."""
    if "cannot configure default credentials" in text:
        where = host or "the workspace"
        return (
            f"Found no credentials for {where}: pass token=, set DATABRICKS_TOKEN, "
            "or name a ~/.databrickscfg profile with profile=."
        )
    head = text.split(". ", 1)[0].strip()
    return head if head.endswith(".") else head + "."


def _build_config(kwargs: dict[str, Any], probe_timeout: float) -> Config:
    """Resolve a Config the SDK way, with a short budget for its host-metadata probe.

    The SDK probes ``/.well-known/databricks-config`` while constructing a Config and, by
    default, retries an unreachable host for 300 s; we shrink that to about a second and
    restore the SDK defaults afterwards for anyone who builds an SDK client from it.
    """
    from databricks.sdk.config import Config

    from . import __version__

    sdk_log = logging.getLogger("databricks.sdk")
    quiet = _DropProbeWarning()
    sdk_log.addFilter(quiet)
    try:
        cfg = Config(
            product="pt_widgets",
            product_version=__version__,
            retry_timeout_seconds=1,
            http_timeout_seconds=max(1, int(probe_timeout)),
            **kwargs,
        )
    finally:
        sdk_log.removeFilter(quiet)
    cfg.retry_timeout_seconds = 300
    cfg.http_timeout_seconds = 60
    return cfg


def _nothing_configured_sentence() -> str:
    return (
        "No Databricks workspace is configured and no local workspace is running: pass "
        "host= and token=, set DATABRICKS_HOST and DATABRICKS_TOKEN, add a ~/.databrickscfg "
        f"profile, or start a local workspace with `{START_LOCAL_HINT}`."
    )


def connect(
    host: str | None = None,
    token: str | None = None,
    *,
    profile: str | None = None,
    config: Config | WorkspaceClient | None = None,
    local: bool | None = None,
    timeout: float = 120.0,
    connect_timeout: float = 3.0,
    verify: bool = True,
    **config_kwargs: Any,
) -> Workspace:
    """Resolve a workspace the way Databricks users expect, and return a :class:`Workspace`.

    Order: an explicit ``config`` (an SDK ``Config`` or ``WorkspaceClient``); explicit
    ``host``/``token``/``profile`` (plus any other SDK config keyword); otherwise the SDK's own
    resolution (``DATABRICKS_*`` environment, ``~/.databrickscfg``, notebook-native auth
    inside Databricks). With nothing configured, a running local workspace is used (found via
    ``$PT_WIDGETS_HOME``/``~/.pt_widgets``); ``local=True`` asks for it directly.

    ``timeout`` is the per-request read timeout (queries to big models can take minutes);
    ``connect_timeout`` how long to wait for a TCP connection. With ``verify`` (default) one
    cheap authenticated call checks host and token now, so a wrong host, a bad token or a dead
    server fail here, in one sentence, within seconds.
    """
    host = _with_scheme(host)
    if config is None and not local and not profile:
        _fail_fast_if_unreachable(host or os.environ.get("DATABRICKS_HOST"), connect_timeout)
    given = dict(config_kwargs, host=host, token=token, profile=profile)
    explicit = {k: v for k, v in given.items() if v is not None}
    source = "arguments" if explicit else "databricks-sdk default"
    cfg: Config | None = None
    if config is not None:
        cfg = getattr(config, "config", config)
        source = "config"
    elif local:
        cfg = _local_config(connect_timeout)
        source = "local"
    else:
        try:
            cfg = _build_config(explicit, connect_timeout)
        except ValueError as exc:
            if explicit:
                raise ConfigurationError(_config_error_sentence(str(exc), host)) from None
            if local is False:
                raise NotConfigured(_nothing_configured_sentence()) from None
            cfg = _local_config(connect_timeout)
            source = "local"
    ws = Workspace(cfg, timeout=timeout, connect_timeout=connect_timeout, source=source)
    if verify:
        ws.verify()
    return ws


def _fail_fast_if_unreachable(host: str | None, timeout: float) -> None:
    """One unauthenticated GET before the SDK gets the host: a dead or mistyped host fails
    here within ``timeout`` instead of after the SDK's own retrying metadata probe."""
    if not host:
        return
    url = _with_scheme(host) or host
    if "://" not in url:
        url = "https://" + url
    try:
        requests.get(url.rstrip("/") + _WELL_KNOWN, timeout=(timeout, 5.0)).close()
    except requests.exceptions.ConnectionError as exc:
        raise WorkspaceUnreachable(unreachable_sentence(url.rstrip("/"), exc), url) from None
    except requests.exceptions.RequestException:
        return  # answered slowly or oddly: let the SDK and verify() judge


def _local_config(connect_timeout: float) -> Config:
    found = find_local_workspace()
    if found is None:
        raise NotConfigured(_nothing_configured_sentence())
    host, token = found
    return _build_config({"host": host, "token": token}, connect_timeout)


# --------------------------------------------------------------------------- the workspace


class _Api:
    """A Workspace method implemented by a function in another module, imported on first use.

    Keeps ``import pt_widgets.workspace`` light while ``ws.chat(...)`` still shows the real
    signature and docstring (it is the module function bound to the workspace).
    """

    def __init__(self, module: str, name: str | None = None) -> None:
        self.module = module
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        func = getattr(importlib.import_module(self.module, __package__), str(self.name))
        return func if obj is None else types.MethodType(func, obj)


class _ApiWithWorkspaceAs(_Api):
    """Like :class:`_Api` for a function that takes the workspace as a keyword (``taken=``)."""

    def __init__(self, module: str, name: str, keyword: str) -> None:
        super().__init__(module, name)
        self.keyword = keyword

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        func = getattr(importlib.import_module(self.module, __package__), str(self.name))
        return func if obj is None else functools.partial(func, **{self.keyword: obj})


class Workspace:
    """One workspace: where requests go and how they are authenticated.

    Build it with :func:`connect`. The methods below (``ws.models(...)``, ``ws.deploy(...)``,
    ``ws.chat(...)``…) are the module-level API functions with this workspace bound first.
    """

    def __init__(
        self,
        config: Config,
        *,
        timeout: float = 120.0,
        connect_timeout: float = 3.0,
        retry: RetryPolicy | None = None,
        source: str = "config",
        pool_size: int = 64,
    ) -> None:
        if not config.host:
            raise ConfigurationError("The workspace configuration has no host.")
        self._config = config
        self.host: str = config.host.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy()
        self.source = source
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._user_agent = self._make_user_agent()

    # -- identity ---------------------------------------------------------------------------

    @property
    def auth_type(self) -> str:
        """How requests authenticate (``pat``, ``oauth-m2m``, ``runtime``…), never the secret."""
        return str(self._config.auth_type or "unknown")

    @property
    def is_local(self) -> bool:
        """True for a workspace on this machine (the local workspace), by its loopback host."""
        return is_loopback(self.host)

    def __repr__(self) -> str:
        return (f"Workspace(host={self.host!r}, auth_type={self.auth_type!r}, "
                f"source={self.source!r})")

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("A Workspace holds credentials and cannot be pickled; call connect().")

    def sdk(self) -> WorkspaceClient:
        """A ``databricks.sdk.WorkspaceClient`` with the same credentials (for the rest)."""
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(config=self._config)

    def verify(self) -> None:
        """One cheap authenticated call; raises the one-sentence error if host or token is wrong.

        Any answer other than an authentication failure proves the host is a workspace and the
        token passed (authentication runs before everything else server-side).
        """
        try:
            self.request(
                "GET",
                "/api/2.1/unity-catalog/catalogs",
                params={"max_results": 1},
                retry=RetryPolicy(max_attempts=1, connect_deadline_s=1.0),
                timeout=max(self.connect_timeout, 10.0),
            )
        except AuthenticationError:
            raise
        except ApiError as exc:
            if exc.status in (404, 405, 501) and not exc.error_code:
                raise PtWidgetsError(
                    f"{self.host} answered but does not look like a Databricks workspace "
                    f"(HTTP {exc.status} on the Unity Catalog API); check the host."
                ) from None

    # -- HTTP -------------------------------------------------------------------------------

    def _make_user_agent(self) -> str:
        try:
            return str(self._config.user_agent)
        except Exception:  # noqa: BLE001 - older SDKs; the UA is cosmetic
            from . import __version__

            return f"pt_widgets/{__version__}"

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if self._config.workspace_id:
            headers["X-Databricks-Workspace-Id"] = str(self._config.workspace_id)
        headers.update(self._config.authenticate())
        if extra:
            headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        cancel: threading.Event | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request; return the 2xx response or raise a one-sentence error.

        Retries 429/503 (honouring ``Retry-After``) and connection failures that happened
        before the request was sent, under ``retry`` (default: the workspace's policy).
        ``cancel`` interrupts the waits between attempts.
        """
        return send(self._session, method, self.host, path,
                    headers=lambda: self._headers(headers), policy=retry or self.retry,
                    timeouts=(self.connect_timeout, timeout or self.timeout), cancel=cancel,
                    params=query_params(params), json=json, stream=stream)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`request` and decode the JSON answer (``{}`` for an empty body)."""
        resp = self.request(method, path, **kwargs)
        return decode_json(resp, f"{self.host} answered {method} {path}")

    # -- the API, bound to this workspace (see the named modules for the docs) ---------------

    catalogs = _Api(".catalog", "list_catalogs")
    schemas = _Api(".catalog", "list_schemas")
    models = _Api(".catalog", "list_models")
    model = _Api(".catalog", "get_model")
    versions = _Api(".catalog", "list_versions")
    version = _Api(".catalog", "get_version")
    version_by_alias = _Api(".catalog", "get_version_by_alias")

    optimization_info = _Api(".sizing", "get_optimization_info")
    sizing_plan = _Api(".sizing", "sizing_plan")

    deploy = _Api(".endpoints", "deploy")
    deploy_in_background = _Api(".endpoints", "deploy_in_background")
    wait = _Api(".endpoints", "wait_until_ready")
    endpoint = _Api(".endpoints", "get_endpoint")
    endpoint_exists = _Api(".endpoints", "endpoint_exists")
    list_endpoints = _Api(".endpoints", "list_endpoints")
    endpoints = _Api(".endpoints", "list_endpoints")  # a Listing, like catalogs()/models()
    delete_endpoint = _Api(".endpoints", "delete_endpoint")
    build_logs = _Api(".endpoints", "build_logs")
    # rollout: several served entities behind one endpoint and the traffic split
    add_entity = _Api(".rollout", "add_entity")
    set_traffic = _Api(".rollout", "set_traffic")
    promote = _Api(".rollout", "promote")
    rollback = _Api(".rollout", "rollback")
    remove_entity = _Api(".rollout", "remove_entity")
    # pt_widgets.suggest_endpoint_name with taken=this workspace (its endpoints' names)
    suggest_endpoint_name = _ApiWithWorkspaceAs(".endpoints", "suggest_endpoint_name", "taken")

    chat = _Api(".queries", "chat")
    completions = _Api(".queries", "completions")
    embeddings = _Api(".queries", "embeddings")
    stream_chat = _Api(".queries", "stream_chat")

    batch_chat = _Api(".batch", "batch_chat")
    batch_completions = _Api(".batch", "batch_completions")
    batch_embeddings = _Api(".batch", "batch_embeddings")

    compare_endpoints = _Api(".compare", "compare_endpoints")
    load_test = _Api(".loadtest", "load_test")
    metrics_snapshot = _Api(".monitor", "metrics_snapshot")
    monitor = _Api(".monitor", "monitor")

    log_chat_model = _Api(".model_logging", "log_chat_model")
    log_completions_model = _Api(".model_logging", "log_completions_model")
    log_embeddings_model = _Api(".model_logging", "log_embeddings_model")

    # governance (permissions, secrets, external models, AI gateway)
    grant = _Api(".governance", "grant")
    revoke = _Api(".governance", "revoke")
    permissions = _Api(".governance", "permissions")
    create_secret = _Api(".governance", "create_secret")
    deploy_external = _Api(".governance", "deploy_external")
    set_gateway = _Api(".governance", "set_gateway")
    usage = _Api(".governance", "usage")
    inference_table = _Api(".governance", "inference_table")
