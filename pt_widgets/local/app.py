"""The local workspace as one ASGI application.

Layers, outermost first: bearer-token auth and body-size limits (for every route but the
discovery document), then a dispatcher: the Databricks routes (serving endpoints, Unity
Catalog, invocations) go to this package's FastAPI app, everything else to MLflow's own
tracking/registry server mounted in the same process, so ``mlflow`` clients pointed at
this host log and register models into the registry the catalog routes read.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .calibration_cache import CalibrationCache
from .errors import ApiError
from .governance import PREFIXES as GOVERNANCE_PREFIXES  # governance hook
from .governance import Governance, caller_for_scope  # governance hook
from .optimization import Optimizer
from .preparation import Preparation
from .preparation import enabled as preparation_enabled
from .registry import Registry
from .routes import catalog as catalog_routes
from .routes import serving as serving_routes
from .runtime import Runtime
from .schemas import document
from .schemas.problems import sentence
from .serving import ServingManager
from .settings import Settings, ensure_data_dir
from .store import EndpointStore

log = logging.getLogger("pt_widgets.local")

DISCOVERY_PATH = "/.well-known/databricks-config"
OWN_PREFIXES = ("/api/2.0/serving-endpoints", "/api/2.1/unity-catalog", "/serving-endpoints",
                "/.well-known/", "/openapi.json") + GOVERNANCE_PREFIXES  # governance hook
INVOCATION_LIMIT = 4 * 1024 * 1024  # Databricks' cap for foundation-model payloads
CONTROL_LIMIT = 16 * 1024 * 1024
UNLIMITED_PREFIX = "/api/2.0/mlflow-artifacts"  # model weights upload here, streamed to disk
CALIBRATION_SECONDS = float(os.environ.get("PT_WIDGETS_CALIBRATION_SECONDS", "8"))


class LocalWorkspace:
    """Everything the routes share: settings, stores, registry, serving and runtime."""

    def __init__(self, settings: Settings) -> None:
        ensure_data_dir(settings.data_dir)
        settings.artifacts_dir.mkdir(exist_ok=True)
        self.settings = settings
        self.started_ms = int(time.time() * 1000)
        self.store = EndpointStore(settings.db_path)
        self.metastore_id = self._stable("metastore_id", lambda: secrets.token_hex(16))
        self.workspace_id = self._stable("workspace_id", lambda: str(secrets.randbelow(10**15)
                                                                     + 10**15))
        self.runtime = Runtime(settings)
        self.calibration = CalibrationCache(settings.data_dir, self.measure)
        # first thing: the preparation of the built-in models (see preparation.py) overlaps
        # MLflow's database set-up below, the server's start and, with `pt-widgets lab`,
        # JupyterLab's
        self.preparation = Preparation(self.calibration).start() if preparation_enabled() \
            else None
        init_mlflow_server_env(settings)
        self.registry = Registry(settings)
        self.optimizer = Optimizer(self.registry, self.calibration)
        self.governance = Governance(settings.data_dir, settings.token)  # governance hook
        self.serving = ServingManager(self.store, self.optimizer, self.runtime,
                                      external=self.governance.external)  # governance hook

    def _stable(self, key: str, make) -> str:
        value = self.store.get_value(key)
        if value is None:
            value = make()
            self.store.set_value(key, value)
        return value

    def measure(self, desc) -> float:
        """One replica's tokens/s, measured with the real engine (the chunk size)."""
        from .engine import measure_throughput

        replica = self.runtime.load_replica(desc, lambda line: log.info("%s", line))
        try:
            return measure_throughput(replica, seconds=CALIBRATION_SECONDS)
        finally:
            replica.close()

    def start(self) -> list[str]:
        """Register the built-in models and resume deploys a previous run left half done."""
        missing = self.registry.ensure_builtin_models()
        self.serving.resume_interrupted()
        return missing

    def stop(self) -> None:
        if self.preparation is not None:
            self.preparation.stop()
        self.runtime.close()


def init_mlflow_server_env(settings: Settings) -> None:
    """MLflow's server reads its stores from these variables when first used."""
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = settings.mlflow_db_uri
    os.environ["_MLFLOW_SERVER_REGISTRY_STORE"] = settings.mlflow_db_uri
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = "mlflow-artifacts:/"
    os.environ["_MLFLOW_SERVER_SERVE_ARTIFACTS"] = "true"
    os.environ["_MLFLOW_SERVER_ARTIFACT_DESTINATION"] = str(settings.artifacts_dir)
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(settings.mlflow_db_uri, settings.mlflow_db_uri,
                              "mlflow-artifacts:/")


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status or 400, headers=exc.headers)


def body_model(request: Request) -> Any:
    """The pydantic model of the matched route's body (its fields' descriptions are rules)."""
    field = getattr(request.scope.get("route"), "body_field", None)
    return getattr(getattr(field, "field_info", None), "annotation", None)


def build_api(workspace: LocalWorkspace) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        workspace.stop()

    from .. import __version__  # the distribution's version (package metadata), nothing else

    api = FastAPI(title="pt_widgets local workspace", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, strict_content_type=False)
    api.state.workspace = workspace

    @api.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @api.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(ApiError("INVALID_PARAMETER_VALUE",
                                       sentence(exc.errors(), body_model(request))))

    @api.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            return error_response(ApiError("METHOD_NOT_ALLOWED", f"{request.method} is not "
                                           f"allowed on {request.url.path}.", status=405))
        return error_response(ApiError("ENDPOINT_NOT_FOUND", f"No API found for "
                                       f"'{request.method} {request.url.path}'.",
                                       status=exc.status_code))

    @api.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ApiError("INTERNAL_ERROR", "The local workspace hit an internal "
                                       "error; see its log.", status=500))

    @api.get(DISCOVERY_PATH, tags=["auth"])
    def discovery() -> dict[str, Any]:
        return {"oidc_endpoint": "", "workspace_id": workspace.workspace_id}

    api.include_router(catalog_routes.router)
    api.include_router(serving_routes.router)
    from .routes import invocations as invocation_routes

    api.include_router(invocation_routes.router)
    from .governance import gateway_routes, permission_routes  # governance hook
    from .governance import routes as governance_routes  # governance hook

    api.include_router(governance_routes.router)  # governance hook
    api.include_router(permission_routes.router)  # governance hook
    api.include_router(gateway_routes.router)  # governance hook
    document.install(api, public_paths=(DISCOVERY_PATH,))
    return api


class Gate:
    """Auth, body limits and dispatch between this package's routes and MLflow's server."""

    def __init__(self, api: FastAPI, mlflow_app: Any, token: str) -> None:
        self.api = api
        self.mlflow_app = mlflow_app
        self._token = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.api(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.mlflow_app(scope, receive, send)
            return
        path = scope.get("path", "")
        if not (path == DISCOVERY_PATH and scope.get("method") in ("GET", "HEAD")):
            refused = self._refusal(scope)
            if refused:
                await reply(send, refused)
                return
            too_big = oversized(scope)
            if too_big:
                await reply(send, too_big)
                return
            if is_chunked(scope) and not path.startswith(UNLIMITED_PREFIX):
                receive, too_big = await buffer_body(receive, body_limit(path), path)
                if too_big:
                    await reply(send, too_big)
                    return
        if path.startswith(OWN_PREFIXES):
            await self.api(scope, receive, send)
        else:
            await self.mlflow_app(scope, receive, json_not_found(send, scope))

    def _refusal(self, scope) -> ApiError | None:
        """None when the token names a user; otherwise Databricks' answers: a bearer token
        that is not valid is a 403 "Invalid access token." (the SDK raises PermissionDenied),
        no bearer token at all a 401."""
        # governance hook: the token names a user (the owner's token: the admin), who is kept
        # in the request's state
        if caller_for_scope(self.api.state.workspace.governance, scope) is not None:
            return None
        for key, value in scope.get("headers", ()):
            if key == b"authorization" and value[:7].lower() == b"bearer ":
                return ApiError("403", "Invalid access token.", status=403)
        return ApiError("401", "Credential was not sent or was of an unsupported type for "
                        "this API.", status=401, headers={"WWW-Authenticate": "Bearer"})


def json_not_found(send, scope):
    """``send`` for MLflow's app: its 404s are HTML pages, Databricks' are JSON errors."""
    replaced = False

    async def send_json_404(message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] == 404:
            kind = dict(message.get("headers", ())).get(b"content-type", b"")
            if not kind.startswith(b"application/json"):
                replaced = True
                await reply(send, ApiError("ENDPOINT_NOT_FOUND", f"No API found for "
                                           f"'{scope.get('method')} {scope.get('path')}'.",
                                           status=404))
                return
        if replaced:  # the HTML body of a replaced 404
            return
        await send(message)

    return send_json_404


def body_limit(path: str) -> int:
    return INVOCATION_LIMIT if path.startswith("/serving-endpoints") else CONTROL_LIMIT


def too_large(size: int | str, path: str) -> ApiError:
    return ApiError("PAYLOAD_TOO_LARGE", f"The request body is {size} bytes; the limit for "
                    f"{path} is {body_limit(path)} bytes.", status=413)


def oversized(scope) -> ApiError | None:
    path = scope.get("path", "")
    if path.startswith(UNLIMITED_PREFIX):
        return None
    limit = body_limit(path)
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                size = int(value)
            except ValueError:
                return ApiError("MALFORMED_REQUEST", "Content-Length is not a number.")
            if size > limit:
                return too_large(size, path)
    return None


def is_chunked(scope) -> bool:
    """A body sent without Content-Length (``Transfer-Encoding: chunked``): size unknown."""
    headers = dict(scope.get("headers", ()))
    return b"content-length" not in headers and b"transfer-encoding" in headers


async def buffer_body(receive, limit: int, path: str):
    """Read a chunked body up to ``limit`` before any route sees it; 413 past the limit.

    The Content-Length check cannot see these bodies, and a route that reads the body
    itself would either hold an unbounded body in memory or fail half-way as a 500, so the
    body is counted here and handed on, whole, through a replaying ``receive``.
    """
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: pass that on
            first = message
            break
        size += len(message.get("body", b""))
        if size > limit:
            return receive, too_large(f"more than {limit}", path)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break
    pending = [first]

    async def replay():
        return pending.pop() if pending else await receive()

    return replay, None


async def reply(send, exc: ApiError) -> None:
    body = json.dumps(exc.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings) -> tuple[Gate, LocalWorkspace]:
    workspace = LocalWorkspace(settings)
    api = build_api(workspace)
    from mlflow.server.fastapi_app import create_fastapi_app

    return Gate(api, create_fastapi_app(), settings.token), workspace
