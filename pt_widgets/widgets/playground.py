"""Playground: query an endpoint with a form that fits its task.

Chat (system prompt, messages, temperature, max tokens, stop, logprobs/top-logprobs,
streaming), completions, embeddings (several texts). Form parameters are synced traits (so
Python can read and set them); the prompt, messages and results travel in request/response
messages. A streaming chat sends its text as events while it runs. Results are tables in the
widget and DataFrames in Python: ``.result``, ``.logprobs``, ``.similarity``, ``.history``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

import traitlets as t

from ..errors import ValidationError
from ._adapters import modes_for, normalize_task
from ._base import Facade, Part, PtWidget, Request, declare, describe_error

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..queries import EmbeddingsResult, QueryResult

PREVIEW_DIMS = 8
MAX_TEXTS = 50
DELTA_INTERVAL_S = 0.05
HISTORY_COLUMNS = ["timestamp", "endpoint", "mode", "input", "output", "finish_reason",
                   "prompt_tokens", "completion_tokens", "total_tokens", "latency_s", "status",
                   "error"]


class PlaygroundPart(Part):
    scope = "playground"
    TRAITS: ClassVar = {
        "endpoint": lambda: t.Unicode(""),
        "endpoint_task": lambda: t.Unicode(""),
        "modes": lambda: t.List(t.Unicode(), ["chat", "completions", "embeddings"]),
        "mode": lambda: t.Unicode("chat"),
        "system_prompt": lambda: t.Unicode(""),
        "temperature": lambda: t.Float(0.2),
        "max_tokens": lambda: t.Int(64),
        "stop": lambda: t.Unicode(""),  # comma-separated stop sequences
        "logprobs": lambda: t.Bool(False),
        "top_logprobs": lambda: t.Int(0),
        "stream": lambda: t.Bool(True),
        "status": lambda: t.Unicode("idle"),  # idle running done error
        "disabled_reason": lambda: t.Unicode(""),
        "error": lambda: t.Unicode(""),
        # one served entity of a multi-entity endpoint ("" = wherever the traffic split sends)
        "served_model": lambda: t.Unicode(""),
        "served_models": lambda: t.List(t.Unicode()),  # the endpoint's live entities
    }

    def setup(self) -> None:
        self.last: QueryResult | EmbeddingsResult | None = None
        self._last_payload: dict[str, Any] | None = None
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.observe(self._on_endpoint, "endpoint")

    # -- endpoint and task ------------------------------------------------------------------
    def _on_endpoint(self, change: dict[str, Any]) -> None:
        name = str(change["new"] or "")
        if not name:
            self.set(endpoint_task="", modes=modes_for(""), served_models=[], served_model="")
            return
        ticket = self.next_generation()
        self.submit(self._load_task, ticket, name)

    def _load_task(self, ticket: int, name: str) -> None:
        from ..endpoints import get_endpoint

        endpoint = get_endpoint(self.workspace(), name)
        if self.current(ticket):
            self.use_task(endpoint.task or "")
            self.use_entities([e.name for e in endpoint.served_entities])
            if not endpoint.is_ready:
                self.set(error=f"Endpoint '{name}' is not ready yet "
                               f"({endpoint.state.ready or 'unknown'}).")
            else:
                self.set(error="")

    def use_task(self, task: str) -> None:
        modes = modes_for(task)
        mode = self.get("mode") if self.get("mode") in modes else modes[0]
        self.set(endpoint_task=normalize_task(task), modes=modes, mode=mode)

    def use_entities(self, names: list[str]) -> None:
        """The endpoint's served entities; a chosen one it no longer serves is dropped."""
        chosen = self.get("served_model")
        self.set(served_models=names, served_model=chosen if chosen in names else "")

    def rpc_entities(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        """Read the endpoint's served entities again (a rollout may have changed them)."""
        from ..endpoints import get_endpoint

        name = self.get("endpoint")
        names = [e.name for e in get_endpoint(self.workspace(), name).served_entities] if name \
            else []
        self.use_entities(names)
        return {"names": names}

    def rpc_endpoints(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        from ..endpoints import list_endpoints

        items = []
        for e in list_endpoints(self.workspace()):
            entity = e.display_entity
            items.append({
                "name": e.name, "task": normalize_task(e.task or ""), "ready": e.is_ready,
                "state": e.state.ready or "", "model": entity.entity_name if entity else "",
                "version": entity.entity_version if entity else "",
            })
        return {"items": items}

    def rpc_last(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        return {"result": self._last_payload}

    # -- running queries --------------------------------------------------------------------
    def rpc_run(self, params: dict[str, Any], req: Request) -> dict[str, Any]:
        mode = str(params.get("mode") or self.get("mode"))
        endpoint = str(params.get("endpoint") or self.get("endpoint"))
        if not endpoint:
            raise ValidationError("Choose an endpoint first (deploy one, or pick it in the list).")
        self.set(status="running", error="")
        try:
            if mode == "embeddings":
                texts = [str(x) for x in params.get("texts") or [] if str(x).strip()]
                payload = self._embed(endpoint, texts, req)
            else:
                payload = self._generate(endpoint, mode, params, req)
        except Exception as exc:
            self.set(status="error", error=describe_error(exc))
            raise
        self.set(status="done")
        return payload

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Generation parameters: the request's values, else the synced form values."""

        def pick(name: str) -> Any:
            return params[name] if params.get(name) is not None else self.get(name)

        stop = pick("stop")
        if isinstance(stop, str):
            stop = [s for s in (x.strip() for x in stop.split(",")) if s]
        top = int(pick("top_logprobs") or 0)
        out: dict[str, Any] = {
            "temperature": float(pick("temperature")),
            "max_tokens": int(pick("max_tokens")),
            "stop": stop or None,
            "logprobs": bool(pick("logprobs")) or top > 0,
            "top_logprobs": top or None,
            "served_model": str(pick("served_model") or "") or None,
        }
        return out

    def _generate(self, endpoint: str, mode: str, params: dict[str, Any],
                  req: Request | None) -> dict[str, Any]:
        from ..queries import chat, completions, stream_chat

        ws = self.workspace()
        gen = self._params(params)
        cancel = req.cancel if req is not None else None
        started = time.time()
        if mode == "completions":
            prompt = str(params.get("prompt") or "")
            if not prompt.strip():
                raise ValidationError("Write a prompt first.")
            source = prompt
            result = self._recorded(endpoint, mode, prompt, lambda: completions(
                ws, endpoint, prompt, cancel=cancel, **gen))
        else:
            messages = [
                {"role": str(m.get("role") or "user"), "content": str(m.get("content") or "")}
                for m in params.get("messages") or [] if isinstance(m, dict)
            ]
            if not messages or not any(m["content"].strip() for m in messages):
                raise ValidationError("Write a message first.")
            system = params.get("system")
            system = str(system if system is not None else self.get("system_prompt")) or None
            source = messages[-1]["content"]
            stream = params.get("stream")
            stream = bool(self.get("stream") if stream is None else stream)
            if stream and req is not None:
                result = self._recorded(endpoint, mode, source, lambda: self._stream(
                    stream_chat(ws, endpoint, messages, system=system, cancel=cancel, **gen),
                    req))
            else:
                result = self._recorded(endpoint, mode, source, lambda: chat(
                    ws, endpoint, messages, system=system, cancel=cancel, **gen))
        self.last = result
        payload = generation_payload(result, mode, started)
        self._last_payload = payload
        return payload

    def _stream(self, stream: Any, req: Request) -> QueryResult:
        pending: list[str] = []
        last_sent = 0.0
        with stream:
            for delta in stream:
                pending.append(delta)
                now = time.monotonic()
                if now - last_sent >= DELTA_INTERVAL_S:
                    req.emit({"type": "delta", "text": "".join(pending)})
                    pending.clear()
                    last_sent = now
            if pending:
                req.emit({"type": "delta", "text": "".join(pending)})
        if stream.error is not None:
            raise stream.error
        return stream.result

    def _embed(self, endpoint: str, texts: list[str], req: Request | None) -> dict[str, Any]:
        from ..queries import embeddings

        if not texts:
            raise ValidationError("Write at least one text to embed (one per line).")
        if len(texts) > MAX_TEXTS:
            raise ValidationError(f"Embed at most {MAX_TEXTS} texts at once here (got "
                                  f"{len(texts)}); use pt_widgets.batch_embeddings for more.")
        cancel = req.cancel if req is not None else None
        started = time.time()
        source = texts[0] if len(texts) == 1 else f"[{len(texts)} texts] {texts[0]}"
        served = str(self.get("served_model") or "") or None
        result = self._recorded(endpoint, "embeddings", source,
                                lambda: embeddings(self.workspace(), endpoint, texts,
                                                   cancel=cancel, served_model=served))
        self.last = result
        payload = embeddings_payload(result, started)
        self._last_payload = payload
        return payload

    def _recorded(self, endpoint: str, mode: str, source: str, call: Any) -> Any:
        started = time.time()
        try:
            result = call()
        except Exception as exc:
            self._record(started, endpoint, mode, source, None, exc)
            raise
        self._record(started, endpoint, mode, source, result, None)
        return result

    def _record(self, started: float, endpoint: str, mode: str, source: str, result: Any,
                error: BaseException | None) -> None:
        usage = getattr(result, "usage", None)
        output = getattr(result, "text", "") if result is not None else ""
        if result is not None and mode == "embeddings":
            output = f"{len(result.vectors)} × {result.dimensions} vectors"
        row = {
            "timestamp": started, "endpoint": endpoint, "mode": mode, "input": source,
            "output": output, "finish_reason": getattr(result, "finish_reason", None),
            "prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None),
            "total_tokens": getattr(usage, "total_tokens", None),
            "latency_s": getattr(result, "latency_s", time.time() - started),
            "status": "error" if error is not None else "ok",
            "error": describe_error(error) if error is not None else None,
        }
        with self._lock:
            self._records.append(row)

    # -- Python-initiated queries (shown in the widget too) ------------------------------
    def run_from_python(self, mode: str, **params: Any) -> Any:
        self.set(status="running", error="")
        try:
            if mode == "embeddings":
                payload = self._embed(str(params.pop("endpoint", "") or self.get("endpoint")),
                                      list(params.get("texts") or []), None)
            else:
                endpoint = str(params.pop("endpoint", "") or self.get("endpoint"))
                if not endpoint:
                    raise ValidationError("Choose an endpoint first: set .endpoint or deploy one.")
                payload = self._generate(endpoint, mode, params, None)
        except Exception as exc:
            self.set(status="error", error=describe_error(exc))
            raise
        self.set(status="done")
        self.emit({"type": "result", "result": payload})
        return self.last

    # -- DataFrames -------------------------------------------------------------------------
    def history(self) -> pd.DataFrame:
        import pandas as pd

        with self._lock:
            frame = pd.DataFrame(list(self._records), columns=HISTORY_COLUMNS)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s")
        return frame


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def generation_payload(result: QueryResult, mode: str, started: float) -> dict[str, Any]:
    """What the browser shows for a chat/completions answer (JSON only, small)."""
    from ..queries import logprobs_rows

    tokens = []
    for row in logprobs_rows(result.logprobs):
        tokens.append({
            "position": row["position"], "token": row["token"],
            "logprob": _finite(row["logprob"]), "probability": _finite(row["probability"]),
            "rank": row["rank"],
            "top": [{"token": tok, "logprob": _finite(lp)}
                    for tok, lp in zip(row["top_tokens"], row["top_logprobs"], strict=False)],
        })
    frame = result.to_pandas()
    return {
        "mode": mode,
        "endpoint": result.endpoint,
        "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": {"prompt_tokens": result.usage.prompt_tokens,
                  "completion_tokens": result.usage.completion_tokens,
                  "total_tokens": result.usage.total_tokens},
        "latency_s": round(result.latency_s, 3),
        "ttft_s": (round(result.time_to_first_token_s, 3)
                   if result.time_to_first_token_s is not None else None),
        "model": result.response.model,
        "served_model": result.served_model,
        "logprobs": tokens,
        "table": {"columns": list(frame.columns),
                  "rows": frame.astype(object).where(frame.notna(), None).values.tolist()},
        "at": started,
    }


def embeddings_payload(result: EmbeddingsResult, started: float) -> dict[str, Any]:
    """Vectors preview and cosine similarities for the browser."""
    vectors = result.vectors
    norms = result.norms
    rows = [{
        "index": i, "input": text, "dimensions": len(v), "norm": round(n, 4),
        "preview": [round(x, 4) for x in v[:PREVIEW_DIMS]],
    } for i, (text, v, n) in enumerate(zip(result.inputs, vectors, norms, strict=False))]
    return {
        "mode": "embeddings",
        "endpoint": result.endpoint,
        "dimensions": result.dimensions,
        "rows": rows,
        "similarity": {"labels": list(result.inputs),
                       "matrix": [[round(x, 4) for x in r] for r in cosine_matrix(vectors)]},
        "note": result.note,
        "usage": {"prompt_tokens": result.usage.prompt_tokens,
                  "total_tokens": result.usage.total_tokens},
        "latency_s": round(result.latency_s, 3),
        "served_model": result.served_model,
        "at": started,
    }


def cosine_matrix(vectors: Any) -> list[list[float]]:
    """Cosine similarity of every pair (vectors need not be unit-length)."""
    norms = [math.sqrt(sum(x * x for x in v)) or 1.0 for v in vectors]
    return [[sum(a * b for a, b in zip(u, v, strict=False)) / (nu * nv)
             for v, nv in zip(vectors, norms, strict=False)]
            for u, nu in zip(vectors, norms, strict=False)]


class PlaygroundAPI:
    """Python methods of a playground (standalone widget or ``App().playground``)."""

    part: PlaygroundPart

    def chat(self, messages: Any, **params: Any) -> QueryResult:
        """Ask the endpoint; ``messages`` is a prompt or a list of ``{"role", "content"}``."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        else:
            messages = [m if isinstance(m, dict) else {"role": m[0], "content": m[1]}
                        for m in messages]
        system = params.pop("system", None)
        return self.part.run_from_python("chat", messages=messages, system=system, **params)

    def complete(self, prompt: str, **params: Any) -> QueryResult:
        return self.part.run_from_python("completions", prompt=prompt, **params)

    def embed(self, texts: str | list[str], **params: Any) -> EmbeddingsResult:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self.part.run_from_python("embeddings", texts=texts, **params)

    @property
    def response(self) -> QueryResult | EmbeddingsResult | None:
        """The last answer object (``QueryResult`` or ``EmbeddingsResult``)."""
        return self.part.last

    @property
    def result(self) -> pd.DataFrame | None:
        """The last answer as a DataFrame (one row per choice, or per embedded text)."""
        return self.part.last.to_pandas() if self.part.last is not None else None

    @property
    def logprobs(self) -> pd.DataFrame | None:
        """Per-token log-probabilities of the last chat/completions answer."""
        last = self.part.last
        return last.logprobs_frame() if hasattr(last, "logprobs_frame") else None

    @property
    def similarity(self) -> pd.DataFrame | None:
        """Cosine similarity of every pair of the last embedded texts."""
        import pandas as pd

        last = self.part.last
        if last is None or not hasattr(last, "vectors"):
            return None
        labels = [f"{i}: {text[:40]}" for i, text in enumerate(last.inputs)]
        return pd.DataFrame(cosine_matrix(last.vectors), index=labels, columns=labels)

    @property
    def history(self) -> pd.DataFrame:
        """Every query made from this playground, oldest first."""
        return self.part.history()


class PlaygroundControls(PlaygroundAPI, Facade):
    """``App().playground``: the playground's traits and methods inside the App."""


class Playground(PlaygroundAPI, PtWidget):
    """Query an endpoint: chat (streaming, logprobs), completions or embeddings.

    ``pg = Playground(endpoint="my-endpoint")``; in Python ``pg.chat("Hi", logprobs=True)``,
    ``pg.complete(...)``, ``pg.embed([...])``; ``pg.result`` (DataFrame of the last answer),
    ``pg.logprobs``, ``pg.similarity``, ``pg.history`` (every query made here).
    """

    PARTS: ClassVar = {"playground": ("", PlaygroundPart)}
    _kind = t.Unicode("playground").tag(sync=True)
    vars().update(declare(PARTS))

    def __init__(self, endpoint: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if endpoint:
            self.endpoint = endpoint
