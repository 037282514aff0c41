"""How the client talks HTTP: the retry policy, the one wait/retry loop, the request, the
error sentences, and background work as ``concurrent.futures.Future``.

Apart from :mod:`pt_widgets.workspace` (which *resolves* a workspace: host, credentials)
so the policy can change without touching connection resolution, and so deploy waits,
batch retries and the load test share one loop instead of three:

* :func:`with_retries` calls a function until it returns, asking ``delay_after(exc, attempt,
  elapsed)`` after each failure how long to wait (``None``: give up, raise it). Every wait
  wakes as soon as ``cancel`` is set. The request below, ``batch``'s per-row retries and
  ``endpoints.wait_until_ready`` are all this loop with a different ``delay_after``.
* :func:`pause` is its wait: the load test uses it for ``Retry-After`` and metric polls.
* :func:`send` is one HTTP request under a :class:`RetryPolicy`: connection failures give
  up within seconds in one sentence, 429/503 honour ``Retry-After`` within a bounded budget.
* :func:`in_background` runs a function on a daemon thread and returns its ``Future``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests

from .errors import (
    ApiError,
    Cancelled,
    PtWidgetsError,
    RequestTimeout,
    WorkspaceUnreachable,
    api_error_from_response,
)

__all__ = [
    "RetryPolicy",
    "NO_RETRY",
    "START_LOCAL_HINT",
    "retry_delay",
    "api_retry_delay",
    "with_retries",
    "pause",
    "sleep_or_cancel",
    "send",
    "decode_json",
    "query_params",
    "in_background",
    "unreachable_sentence",
    "is_loopback",
]

T = TypeVar("T")
log = logging.getLogger("pt_widgets.workspace")  # the name users already filter on

START_LOCAL_HINT = "python -m pt_widgets.local serve"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


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


def api_retry_delay(exc: BaseException, attempt: int, elapsed: float,
                    policy: RetryPolicy) -> float | None:
    """:func:`retry_delay` for an exception: only API errors with a retryable status."""
    if not isinstance(exc, ApiError):
        return None
    return retry_delay(exc.status, exc.retry_after, attempt, elapsed, policy,
                       jitter=random.random())


# --------------------------------------------------------------------------- the one loop


def pause(seconds: float, cancel: threading.Event | None) -> bool:
    """Wait ``seconds``; True (at once) if ``cancel`` is set meanwhile."""
    if cancel is None:
        time.sleep(max(0.0, seconds))
        return False
    return cancel.wait(max(0.0, seconds))


def sleep_or_cancel(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, but wake up and raise :class:`Cancelled` as soon as ``cancel`` is set."""
    if pause(seconds, cancel):
        raise Cancelled("Cancelled while waiting to retry.")


DelayAfter = Callable[[Exception, int, float], "float | None"]


def with_retries(
    call: Callable[[], T],
    delay_after: DelayAfter,
    *,
    cancel: threading.Event | None = None,
    cancelled: Callable[[], BaseException] | None = None,
) -> T:
    """``call()`` until it returns; after a failure wait ``delay_after(exc, attempt, elapsed)``.

    ``attempt`` is the 0-based index of the try that failed, ``elapsed`` the seconds since
    the first. ``delay_after`` returns ``None`` to give up (the exception is raised as is)
    or may raise a better one itself (a timeout). ``cancel`` is checked before every try
    and wakes every wait; ``cancelled()`` builds what is raised then.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise (cancelled() if cancelled else Cancelled("Cancelled while waiting to retry."))
        try:
            return call()
        except Exception as exc:
            delay = delay_after(exc, attempt, time.monotonic() - started)
            if delay is None:
                raise
        if pause(delay, cancel):
            raise (cancelled() if cancelled else Cancelled("Cancelled while waiting to retry."))
        attempt += 1


# --------------------------------------------------------------------------- one request


class _ConnectionFailed(Exception):
    """A connection error before any answer, with whether retrying it is safe."""

    def __init__(self, error: WorkspaceUnreachable, retryable: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable


def send(
    session: requests.Session,
    method: str,
    host: str,
    path: str,
    *,
    headers: Callable[[], dict[str, str]],
    policy: RetryPolicy,
    timeouts: tuple[float, float],
    cancel: threading.Event | None = None,
    **request: Any,
) -> requests.Response:
    """Send one request; return the 2xx response or raise a one-sentence error.

    Retries 429/503 (honouring ``Retry-After``) and connection failures that cannot have
    reached the server (within ``policy.connect_deadline_s``). ``headers()`` is called per
    try so refreshed credentials are used. ``request`` goes to ``session.request``.
    """

    def once() -> requests.Response:
        try:
            resp = session.request(method, host + path, headers=headers(),
                                   timeout=timeouts, **request)
        except requests.exceptions.ConnectionError as exc:
            error = WorkspaceUnreachable(unreachable_sentence(host, exc), host)
            raise _ConnectionFailed(error, _retryable_connection_error(exc, method)) from None
        except requests.exceptions.Timeout:
            raise RequestTimeout(
                f"{host} did not answer {method} {path} within {timeouts[1]:g} s; pass a "
                "larger timeout= to wait longer."
            ) from None
        if resp.status_code < 400:
            return resp
        error = api_error_from_response(resp.status_code, resp.text, resp.headers,
                                        reason=resp.reason or "", method=method, path=path,
                                        host=host)
        resp.close()
        raise error

    def delay_after(exc: Exception, attempt: int, elapsed: float) -> float | None:
        if isinstance(exc, _ConnectionFailed):
            if exc.retryable and elapsed < policy.connect_deadline_s:
                return min(0.25 * 2**attempt, 1.0)
            raise exc.error from None
        delay = api_retry_delay(exc, attempt, elapsed, policy)
        if delay is not None:
            status = exc.status if isinstance(exc, ApiError) else 0
            log.debug("HTTP %s on %s %s; retrying in %.1f s", status, method, path, delay)
        return delay

    return with_retries(once, delay_after, cancel=cancel,
                 cancelled=lambda: Cancelled(f"Cancelled before {method} {path} was sent."))


def decode_json(resp: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object of an answer (``{}`` for an empty body; a list becomes ``value``).

    ``what`` starts the error sentence: ``"https://host answered GET /api/…"``.
    """
    if not resp.content:
        return {}
    try:
        body = resp.json()
    except ValueError:
        raise PtWidgetsError(
            f"{what} with something that is not JSON (HTTP {resp.status_code}, "
            f"{resp.headers.get('Content-Type', 'no content type')})."
        ) from None
    return body if isinstance(body, dict) else {"value": body}


def query_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop ``None`` and send booleans as ``true``/``false`` like the SDK does."""
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


# --------------------------------------------------------------------------- background work


def in_background(fn: Callable[..., T], *args: Any, name: str, **kwargs: Any) -> Future[T]:
    """Run ``fn`` on a daemon thread; its ``Future`` carries the result or the exception.

    Not an ``Executor``: its worker threads are joined at interpreter exit, so a 90-minute
    deploy wait would keep a finished notebook kernel from exiting. The future is marked
    running before the thread starts, so ``future.cancel()`` returns False (cancel a running
    job through its own ``cancel`` event).
    """
    future: Future[T] = Future()
    future.set_running_or_notify_cancel()

    def run() -> None:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to future.result()
            future.set_exception(exc)
        else:
            future.set_result(value)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


# --------------------------------------------------------------------------- error sentences


def is_loopback(host: str) -> bool:
    """True for a URL whose host is this machine (the local workspace)."""
    return (urlparse(host).hostname or "") in _LOOPBACK


def unreachable_sentence(host: str, exc: requests.exceptions.ConnectionError) -> str:
    """One sentence for a host that did not answer, with the fix most likely to help."""
    hint = "check the host"
    if is_loopback(host):
        hint += f", or start the local workspace with `{START_LOCAL_HINT}`"
    return f"Cannot reach the workspace at {host}: {_connection_reason(exc)}; {hint}."


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
