"""A loaded model replica: validation, prompt building, async front of the batching engines.

The async methods never run model code on the event loop. They validate and tokenize (cheap),
hand a job to the replica's worker thread and await results that the worker posts back with
``loop.call_soon_threadsafe``. Streaming methods validate on their first ``__anext__``; a
server can ``await`` the first chunk before committing to a 200 response, or call
:meth:`Replica.prompt_tokens` first, which raises the same :class:`ApiError`.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import numpy as np

from pt_widgets.local.errors import ApiError, invalid

from . import responses as R
from .embedding import EmbeddingEngine, EmbedJob
from .loop import GenerationEngine, GenJob, RowUpdate
from .sources import (
    ModelSource,
)
from .validation import (
    SamplingParams,
    parse_chat,
    parse_completions,
    parse_embeddings,
    resolve_max_tokens,
)

EMBEDDINGS = "llm/v1/embeddings"


class Replica:
    """One loaded model serving chat / completions or embeddings with dynamic batching."""

    def __init__(
        self,
        source: ModelSource,
        context_length: int,
        model_type: str,
        *,
        tokenizer: Any = None,
        generator: GenerationEngine | None = None,
        embedder: EmbeddingEngine | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.task = source.task
        self.context_length = int(context_length)
        self.model_type = model_type
        self.info = dict(info or {})
        self.tokenizer = tokenizer  # request-side only; the workers own their own copies
        self._tok_lock = threading.Lock()
        self._gen = generator
        self._emb = embedder
        self.model_name = source.display_name or os.path.basename(os.path.normpath(source.path))

    @property
    def stats(self) -> dict[str, float]:
        """Live counters of the worker (``max_batch_size``, ``steps``, ``requests`` ...)."""
        engine = self._gen or self._emb
        return engine.stats if engine is not None else {}

    @property
    def engine(self) -> str:
        """Which engine runs the model ("llama.cpp", "torch" or "sentence-transformers")."""
        return self._gen.name if self._gen is not None else "sentence-transformers"

    def close(self) -> None:
        """Stop the worker thread and drop the model so its memory can be reclaimed."""
        if self._gen is not None:
            self._gen.close()
        if self._emb is not None:
            self._emb.close()
            self._emb.model = None
        self._gen = self._emb = None

    # -- request preparation ------------------------------------------------------------------

    def _need_generator(self, what: str) -> GenerationEngine:
        if self._gen is None:
            if self.task == EMBEDDINGS:
                raise invalid(f"This endpoint serves {self.task}; it does not accept {what}.")
            raise ApiError("TEMPORARILY_UNAVAILABLE", "The model replica was shut down.")
        return self._gen

    def _need_embedder(self) -> EmbeddingEngine:
        if self._emb is None:
            if self.task != EMBEDDINGS:
                raise invalid(f"This endpoint serves {self.task}; it does not accept embeddings.")
            raise ApiError("TEMPORARILY_UNAVAILABLE", "The model replica was shut down.")
        return self._emb

    def _chat_messages(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """Prepend the configured system prompt unless the request brings its own."""
        sp = self.source.system_prompt
        if sp and not any(m["role"] == "system" for m in messages):
            return [{"role": "system", "content": sp}, *messages]
        return messages

    def render_chat(self, messages: list[dict[str, str]]) -> str:
        """The exact prompt text the model sees (chat template, generation prompt added)."""
        tok = self.tokenizer
        if not getattr(tok, "chat_template", None):
            raise invalid("This model has no chat template; send 'prompt' to completions.")
        try:
            with self._tok_lock:
                return tok.apply_chat_template(
                    self._chat_messages(messages), add_generation_prompt=True, tokenize=False
                )
        except Exception as exc:  # jinja raises on e.g. roles that do not alternate
            msg = f"'messages' cannot be rendered by the model's chat template: {exc}"
            raise invalid(msg) from exc

    def _encode(self, text: str, special: bool) -> list[int]:
        with self._tok_lock:
            ids = self.tokenizer(text, add_special_tokens=special)["input_ids"]
        if not ids:
            raise invalid("The prompt is empty after tokenization.")
        return list(ids)

    def _prepare_chat(self, body: Any) -> tuple[Any, list[int], SamplingParams]:
        self._need_generator("chat requests")
        req = parse_chat(body)
        ids = self._encode(self.render_chat(req.messages), special=False)
        params = _with_max_tokens(req.params, len(ids), self.context_length)
        return req, ids, params

    def _prepare_completions(self, body: Any) -> tuple[Any, list[list[int]], list[SamplingParams]]:
        self._need_generator("completions requests")
        req = parse_completions(body)
        prompts = [self._encode(p, special=True) for p in req.prompts]
        params = [_with_max_tokens(req.params, len(p), self.context_length) for p in prompts]
        return req, prompts, params

    def _prepare_embeddings(self, body: Any) -> tuple[Any, list[int]]:
        self._need_embedder()
        req = parse_embeddings(body)
        with self._tok_lock:
            enc = self.tokenizer(req.inputs, add_special_tokens=True, verbose=False)
        counts = [len(x) for x in enc["input_ids"]]
        for i, c in enumerate(counts):
            if c > self.context_length:
                where = "'input'" if len(counts) == 1 else f"'input[{i}]'"
                raise invalid(
                    f"{where} has {c} tokens, more than this model's context length of "
                    f"{self.context_length} tokens."
                )
        return req, counts

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        """Input tokens this request will consume (after template and system prompt).

        Validates the body fully, so it raises the same 400 the query would. ``n`` > 1 shares
        one prompt, so it is counted once.
        """
        if self.task == EMBEDDINGS:
            return sum(self._prepare_embeddings(body)[1])
        if isinstance(body, dict) and "prompt" in body and "messages" not in body:
            return sum(len(p) for p in self._prepare_completions(body)[1])
        return len(self._prepare_chat(body)[1])

    # -- chat ---------------------------------------------------------------------------------

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        req, ids, params = self._prepare_chat(body)
        choices, completion = await self._collect([ids], [params], req.n)
        return R.chat_response(
            R.new_id("chatcmpl"),
            R.now(),
            self.model_name,
            choices,
            R.usage(len(ids), completion),
        )

    async def chat_stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        req, ids, params = self._prepare_chat(body)
        rid, created, model = R.new_id("chatcmpl"), R.now(), self.model_name
        stream = _JobStream(self._need_generator("chat requests"), [ids], [params], req.n)
        done = [0] * req.n
        try:
            for i in range(req.n):
                role = {"role": "assistant", "content": ""}
                yield R.chat_chunk(rid, created, model, i, role, None, None, R.usage(len(ids), 0))
            while (ups := await stream.next()) is not None:
                for u in ups:
                    done[u.index] = u.completion_tokens
                    delta = {"content": u.text} if u.text else {}
                    lp = R.logprobs_block(u.logprobs, params.logprobs)
                    use = R.usage(len(ids), sum(done))
                    yield R.chat_chunk(
                        rid, created, model, u.index, delta, u.finish_reason, lp, use
                    )
        finally:
            stream.cancel()

    # -- completions --------------------------------------------------------------------------

    async def completions(self, body: dict[str, Any]) -> dict[str, Any]:
        req, prompts, params = self._prepare_completions(body)
        choices, completion = await self._collect(prompts, params, req.n)
        return R.completion_response(
            R.new_id("cmpl"),
            R.now(),
            self.model_name,
            choices,
            R.usage(sum(len(p) for p in prompts), completion),
        )

    async def completions_stream(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        req, prompts, params = self._prepare_completions(body)
        rid, created, model = R.new_id("cmpl"), R.now(), self.model_name
        prompt_tokens = sum(len(p) for p in prompts)
        stream = _JobStream(self._need_generator("completions requests"), prompts, params, req.n)
        done = [0] * (len(prompts) * req.n)
        try:
            while (ups := await stream.next()) is not None:
                for u in ups:
                    done[u.index] = u.completion_tokens
                    lp = R.logprobs_block(u.logprobs, req.params.logprobs)
                    use = R.usage(prompt_tokens, sum(done))
                    yield R.completion_chunk(
                        rid, created, model, u.index, u.text, u.finish_reason, lp, use
                    )
        finally:
            stream.cancel()

    async def _collect(
        self, prompts: list[list[int]], params: list[SamplingParams], n: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Run a job to the end; return shaped choices and the completion token count."""
        total = len(prompts) * n
        texts: list[list[str]] = [[] for _ in range(total)]
        entries: list[list[dict[str, Any]]] = [[] for _ in range(total)]
        reasons: list[str | None] = [None] * total
        tokens = [0] * total
        stream = _JobStream(self._need_generator("generation requests"), prompts, params, n)
        try:
            while (ups := await stream.next()) is not None:
                for u in ups:
                    texts[u.index].append(u.text)
                    entries[u.index].extend(u.logprobs or [])
                    tokens[u.index] = u.completion_tokens
                    reasons[u.index] = u.finish_reason or reasons[u.index]
        finally:
            stream.cancel()
        choices = [
            {
                "index": i,
                "text": "".join(texts[i]),
                "finish_reason": reasons[i],
                "logprobs": R.logprobs_block(entries[i], params[i // n].logprobs),
            }
            for i in range(total)
        ]
        return choices, sum(tokens)

    # -- embeddings ---------------------------------------------------------------------------

    async def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        req, counts = self._prepare_embeddings(body)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[np.ndarray] = loop.create_future()

        def emit(item: np.ndarray | BaseException) -> None:
            loop.call_soon_threadsafe(_resolve_future, fut, item)

        self._need_embedder().submit(EmbedJob(req.inputs, emit))
        vecs = await fut
        return R.embeddings_response(self.model_name, vecs, sum(counts), req.encoding_format)


class _JobStream:
    """Async view of one :class:`GenJob`: submit on creation, ``await next()`` per step."""

    def __init__(
        self,
        engine: GenerationEngine,
        prompts: list[list[int]],
        params: list[SamplingParams],
        n: int,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._q: asyncio.Queue[list[RowUpdate] | BaseException] = asyncio.Queue()

        def emit(item: list[RowUpdate] | BaseException) -> None:
            loop.call_soon_threadsafe(self._q.put_nowait, item)

        self.job = GenJob(prompts, params, n, emit)
        self.remaining = len(prompts) * n
        engine.submit(self.job)

    async def next(self) -> list[RowUpdate] | None:
        if self.remaining <= 0:
            return None
        item = await self._q.get()
        if isinstance(item, BaseException):
            self.remaining = 0
            if isinstance(item, ApiError):
                raise item
            raise ApiError("INTERNAL_ERROR", f"Inference failed: {item}") from item
        self.remaining -= sum(1 for u in item if u.finish_reason is not None)
        return item

    def cancel(self) -> None:
        """Called when the consumer stops early (client gone): the worker drops the rows."""
        if self.remaining > 0:
            self.job.cancelled = True


def _resolve_future(fut: asyncio.Future[Any], item: Any) -> None:
    if fut.done():
        return
    if isinstance(item, ApiError):
        fut.set_exception(item)
    elif isinstance(item, BaseException):
        fut.set_exception(ApiError("INTERNAL_ERROR", f"Embedding failed: {item}"))
    else:
        fut.set_result(item)


def _with_max_tokens(params: SamplingParams, prompt_len: int, context: int) -> SamplingParams:
    return replace(params, max_tokens=resolve_max_tokens(params.max_tokens, prompt_len, context))
