"""Connect to a workspace (Databricks or local) and talk HTTP to it.

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

import importlib
import json
import logging
import os
import random
import threading
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter

from .errors import (
    ApiError,
    AuthenticationError,
    Cancelled,
    ConfigurationError,
    NotConfigured,
    PtWidgetsError,
    RequestTimeout,
    WorkspaceUnreachable,
    api_error_from_response,
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

START_LOCAL_HINT = "python -m pt_widgets.local serve"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
_WELL_KNOWN = "/.well-known/databricks-config"
_SDK_PROBE_WARNING = "Failed to automatically resolve config from host metadata"


# --------------------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up.

    ``max_attempts`` counts every try of a 429/503 answer (1 = never retry); ``max_delay_s``
    caps one wait: a ``Retry-After`` longer than that is not honoured by sleeping, the error is
    raised with its ``retry_after`` instead. ``deadline_s`` bounds the total time spent
    retrying. ``connect_deadline_s`` bounds retries of connection failures, kept short on
    purpose so a dead host fails in one sentence within seconds instead of minutes.
    """

    max_attempts: int = 4
    max_delay_s: float = 30.0
    deadline_s: float | None = 120.0
    backoff_s: float = 1.0
    connect_deadline_s: float = 3.0
    statuses: tuple[int, ...] = (429, 503)


NO_RETRY = RetryPolicy(max_attempts=1, connect_deadline_s=0.0)


def retry_delay(
    status: int,
    retry_after: float | None,
    attempt: int,
    elapsed: float,
    policy: RetryPolicy,
    jitter: float = 0.0,
) -> float | None:
    """Seconds to wait before retry number ``attempt + 1``, or ``None`` to give up now.

    ``attempt`` is the 0-based index of the try that just failed; ``elapsed`` the seconds
    spent so far. The server's ``Retry-After`` wins over our backoff (it knows when capacity
    frees up); ``jitter`` (0..1) spreads concurrent batch workers so they do not return in a
    single burst.
    """
    if status not in policy.statuses or attempt + 1 >= policy.max_attempts:
        return None
    if retry_after is not None:
        if retry_after > policy.max_delay_s:
            return None
        delay = retry_after
    else:
        delay = min(policy.max_delay_s, policy.backoff_s * (2**attempt))
    delay += delay * 0.1 * jitter
    if policy.deadline_s is not None and elapsed + delay > policy.deadline_s:
        return None
    return delay


def sleep_or_cancel(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, but wake up and raise :class:`Cancelled` as soon as ``cancel`` is set."""
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise Cancelled("Cancelled while waiting to retry.")


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
    if host and "://" not in host and _is_loopback("http://" + host):
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


def _is_loopback(host: str) -> bool:
    return (urlparse(host).hostname or "") in _LOOPBACK


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
        return _is_loopback(self.host)

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
        policy = retry or self.retry
        url = self.host + path
        params = _query_params(params)
        started = time.monotonic()
        attempt = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"Cancelled before {method} {path} was sent.")
            try:
                resp = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=self._headers(headers),
                    timeout=(self.connect_timeout, timeout or self.timeout),
                    stream=stream,
                )
            except requests.exceptions.ConnectionError as exc:
                elapsed = time.monotonic() - started
                if _retryable_connection_error(exc, method) and elapsed < policy.connect_deadline_s:
                    sleep_or_cancel(min(0.25 * 2**attempt, 1.0), cancel)
                    attempt += 1
                    continue
                raise WorkspaceUnreachable(self._unreachable_sentence(exc), self.host) from None
            except requests.exceptions.Timeout:
                raise RequestTimeout(
                    f"{self.host} did not answer {method} {path} within "
                    f"{timeout or self.timeout:g} s; pass a larger timeout= to wait longer."
                ) from None
            if resp.status_code < 400:
                return resp
            error = api_error_from_response(
                resp.status_code,
                resp.text,
                resp.headers,
                reason=resp.reason or "",
                method=method,
                path=path,
                host=self.host,
            )
            resp.close()
            delay = retry_delay(
                resp.status_code,
                error.retry_after,
                attempt,
                time.monotonic() - started,
                policy,
                jitter=random.random(),
            )
            if delay is None:
                raise error
            log.debug("HTTP %s on %s %s; retrying in %.1f s", resp.status_code, method, path, delay)
            sleep_or_cancel(delay, cancel)
            attempt += 1

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`request` and decode the JSON answer (``{}`` for an empty body)."""
        resp = self.request(method, path, **kwargs)
        if not resp.content:
            return {}
        try:
            body = resp.json()
        except ValueError:
            raise PtWidgetsError(
                f"{self.host} answered {method} {path} with something that is not JSON "
                f"(HTTP {resp.status_code}, {resp.headers.get('Content-Type', 'no content type')})."
            ) from None
        return body if isinstance(body, dict) else {"value": body}

    def _unreachable_sentence(self, exc: requests.exceptions.ConnectionError) -> str:
        return unreachable_sentence(self.host, exc)

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
    endpoints = _Api(".endpoints", "endpoints_frame")
    delete_endpoint = _Api(".endpoints", "delete_endpoint")
    build_logs = _Api(".endpoints", "build_logs")
    suggest_endpoint_name = _Api(".endpoints", "suggest_endpoint_name_for")

    chat = _Api(".queries", "chat")
    completions = _Api(".queries", "completions")
    embeddings = _Api(".queries", "embeddings")
    stream_chat = _Api(".queries", "stream_chat")

    batch_chat = _Api(".batch", "batch_chat")
    batch_completions = _Api(".batch", "batch_completions")
    batch_embeddings = _Api(".batch", "batch_embeddings")

    compare_endpoints = _Api(".compare", "compare_endpoints")
    load_test = _Api(".loadtest", "load_test")

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


def unreachable_sentence(host: str, exc: requests.exceptions.ConnectionError) -> str:
    """One sentence for a host that did not answer, with the fix most likely to help."""
    hint = "check the host"
    if _is_loopback(host):
        hint += f", or start the local workspace with `{START_LOCAL_HINT}`"
    return f"Cannot reach the workspace at {host}: {_connection_reason(exc)}; {hint}."


def _query_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop ``None`` and send booleans as ``true``/``false`` like the SDK does."""
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _reason(exc: BaseException) -> BaseException | None:
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", inner) if inner is not None else None


def _retryable_connection_error(exc: requests.exceptions.ConnectionError, method: str) -> bool:
    """Retry only what cannot have reached the server (or is idempotent), never a DNS failure."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError

    reason = _reason(exc)
    if isinstance(reason, NameResolutionError):
        return False
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False  # already waited connect_timeout; a second wait doubles the pain
    return isinstance(reason, ConnectTimeoutError) or method.upper() in ("GET", "HEAD", "DELETE")


def _connection_reason(exc: requests.exceptions.ConnectionError) -> str:
    """A few words for why the connection failed, without the urllib3 object soup."""
    from urllib3.exceptions import NameResolutionError

    reason = _reason(exc)
    text = str(exc).lower()
    if isinstance(reason, NameResolutionError) or "name or service not known" in text or (
        "nodename nor servname" in text
    ) or "failed to resolve" in text:
        return "the host name does not resolve"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no answer to the connection attempt"
    if isinstance(exc, requests.exceptions.SSLError):
        if "certificate" in text:
            return "its TLS certificate was rejected"
        return "the TLS handshake failed (is it http:// rather than https://?)"
    if "refused" in text:
        return "connection refused"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "the connection was dropped before an answer"
    return "connection failed"
