"""Client-side exceptions: every failure a user can cause reads as one sentence.

The server speaks Databricks' error dialect (``{"error_code", "message"}`` plus an HTTP
status). :func:`api_error_from_response` turns that into one typed exception whose ``str``
is a single sentence saying what went wrong and, where we know it, what to do next. The
class hierarchy mirrors the status families so callers can ``except NotFound`` without
parsing strings; the raw ``error_code``/``status`` stay available for programs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = [
    "PtWidgetsError",
    "NotConfigured",
    "ConfigurationError",
    "WorkspaceUnreachable",
    "RequestTimeout",
    "Cancelled",
    "ApiError",
    "BadRequest",
    "AuthenticationError",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "ValidationError",
    "SizingError",
    "NotOptimizable",
    "DeploymentFailed",
    "WaitTimeout",
    "api_error_from_response",
    "parse_error_body",
    "parse_retry_after",
]


class PtWidgetsError(Exception):
    """Base class: ``str(err)`` is one sentence meant for the user, not a traceback dump."""


class NotConfigured(PtWidgetsError):
    """No workspace could be resolved (nothing configured and no local workspace running)."""


class ConfigurationError(PtWidgetsError, ValueError):
    """The configuration that was found is unusable (e.g. a profile without a token)."""


class WorkspaceUnreachable(PtWidgetsError, ConnectionError):
    """The host did not answer at all: refused, unresolvable, or connect timeout."""

    def __init__(self, message: str, host: str = "") -> None:
        super().__init__(message)
        self.host = host


class RequestTimeout(PtWidgetsError, TimeoutError):
    """The server accepted the connection but did not answer within the read timeout."""


class Cancelled(PtWidgetsError):
    """A long operation (wait, batch, retry sleep) was cancelled by the caller."""


class ApiError(PtWidgetsError):
    """The workspace answered with an error (any non-2xx status).

    ``error_code`` and ``message`` come from the server's body; ``status`` is the HTTP status;
    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_code: str | None = None,
        server_message: str = "",
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.server_message = server_message
        self.method = method
        self.path = path
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: the request was invalid (INVALID_PARAMETER_VALUE and friends)."""


class AuthenticationError(ApiError):
    """401, or 403 about the token itself: the credentials were rejected."""


class PermissionDenied(ApiError):
    """403: authenticated, but not allowed to do this."""


class NotFound(ApiError):
    """404: the endpoint, model, version, catalog or schema does not exist."""


class Conflict(ApiError):
    """409: already exists, or an update is already in progress."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` says how long the server asked us to wait."""


class ServerError(ApiError):
    """5xx other than 503."""


class Unavailable(ServerError):
    """503: temporarily unavailable (e.g. scaling from zero); retryable."""


class ValidationError(PtWidgetsError, ValueError):
    """An argument was rejected before any request was sent (the sentence says which value)."""


class SizingError(ValidationError):
    """A provisioned-throughput sizing was rejected before any request was sent."""


class NotOptimizable(SizingError):
    """The model version is not eligible for provisioned throughput."""


class DeploymentFailed(PtWidgetsError):
    """The endpoint's config update failed or was cancelled.

    ``state_message`` is the served entity's deployment message; ``build_logs`` the tail of
    the build logs when they could be fetched.
    """

    def __init__(
        self, message: str, *, endpoint: str, state_message: str = "", build_logs: str = ""
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.state_message = state_message
        self.build_logs = build_logs


class WaitTimeout(PtWidgetsError, TimeoutError):
    """The endpoint did not become ready within the caller's timeout (it may still get there)."""


_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_PRE = re.compile(r"<pre>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_CODE_PREFIX = re.compile(r"^([A-Z][A-Z0-9_]+): (.+)$", re.DOTALL)


def parse_error_body(text: str, reason: str = "") -> tuple[str | None, str]:
    """Return ``(error_code, message)`` from any error body Databricks is known to send.

    Handles the standard JSON shape, API 1.2 ``{"error"}``, SCIM ``{detail, status}``,
    ``CODE: message`` plain text, HTML pages and an empty body (the HTTP reason phrase), the
    same set the SDK understands, so a proxy's HTML error page still yields a sentence.
    """
    text = (text or "").strip()
    if not text:
        return None, reason or "no error message"
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("error_code")
        message = body.get("message") or body.get("error") or ""
        if body.get("detail"):
            code = f"SCIM_{body.get('status', '')}"
            message = f"{body.get('scimType', '')} {body['detail']}".strip()
        if isinstance(message, dict):  # e.g. {"error": {"message": ...}} from proxies
            message = message.get("message") or json.dumps(message)
        return (str(code) if code is not None else None), str(message or reason or "request failed")
    match = _PRE.search(text) or _TITLE.search(text)
    if match:
        return None, " ".join(match.group(1).split())
    match = _CODE_PREFIX.match(text)
    if match:
        return match.group(1), match.group(2).strip()
    return None, " ".join(text.split())[:500]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: integer/decimal seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


_TOKEN_WORDS = ("token", "credential", "unauthenticated", "authenticat")


def _is_auth_failure(status: int, code: str | None, message: str) -> bool:
    """401 always; 403 only when it is about the token (Databricks answers a bad PAT with 403)."""
    if status == 401 or code in ("UNAUTHENTICATED", "INVALID_TOKEN"):
        return True
    if status != 403:
        return False
    lowered = message.lower()
    return code in (None, "403") or any(word in lowered for word in _TOKEN_WORDS)


def _class_for(status: int, code: str | None, message: str) -> type[ApiError]:
    if _is_auth_failure(status, code, message):
        return AuthenticationError
    if status == 403 or code == "PERMISSION_DENIED":
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 429:
        return RateLimited
    if status == 503:
        return Unavailable
    if status >= 500:
        return ServerError
    return BadRequest if status >= 400 else ApiError


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _describe(
    cls: type[ApiError], status: int, code: str | None, message: str, host: str, retry: float | None
) -> str:
    """Compose the one sentence: the server's words first, then what to do next."""
    tag = f"{code}, HTTP {status}" if code and code != str(status) else f"HTTP {status}"
    said = message.rstrip(".")
    if cls is AuthenticationError:
        where = f"The workspace at {host}" if host else "The workspace"
        return (
            f"{where} rejected the credentials ({said}; {tag}): check token=, "
            "DATABRICKS_TOKEN or your ~/.databrickscfg profile."
        )
    if cls is RateLimited:
        wait = f"; retry after {retry:g} s" if retry is not None else "; retry later"
        return f"The workspace is rate-limiting requests ({said}; {tag}){wait}."
    return _sentence(f"{said} ({tag})")


def api_error_from_response(
    status: int,
    text: str,
    headers: Mapping[str, str] | None = None,
    *,
    reason: str = "",
    method: str = "",
    path: str = "",
    host: str = "",
) -> ApiError:
    """Build the typed, one-sentence exception for an HTTP error answer."""
    headers = headers or {}
    code, message = parse_error_body(text, reason)
    retry = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    cls = _class_for(status, code, message)
    return cls(
        _describe(cls, status, code, message, host, retry),
        status=status,
        error_code=code,
        server_message=message,
        method=method,
        path=path,
        retry_after=retry,
    )
