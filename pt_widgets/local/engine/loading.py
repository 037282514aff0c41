"""Loading a model into a :class:`~.replica.Replica`: which engine, which threads, warm-up.

Kept apart from ``replica.py`` (what a loaded replica does with requests) because the choice
of engine and the loading steps change for reasons of their own (a new engine, a new source
kind), and the two together were over 500 lines.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from .embedding import EmbeddingEngine
from .generation import TorchEngine
from .loop import GenerationEngine, run_alone
from .replica import EMBEDDINGS, Replica
from .sources import (
    ModelSource,
    convert_gguf,
    gguf_tokenizer,
    inspect_source,
    load_causal_lm,
    load_sentence_transformer,
    parameter_count,
    resolve,
)
from .validation import SamplingParams

#: Which engine serves generative models: "auto" (``GGUF_ENGINE`` for GGUF files when
#: llama-cpp-python is installed, torch otherwise), "torch" or "llama.cpp".
ENGINE_ENV = "PT_WIDGETS_ENGINE"
ENGINES = ("auto", "torch", "llama.cpp")
#: The engine "auto" picks for GGUF files: llama.cpp runs the file as it is, ~7x faster than
#: torch on the de-quantised weights, and passes the quality gate against them
#: (``quality.py``: per-step greedy agreement ~97 %, mean |delta logprob| ~0.04). Its answers
#: are not token-identical to fp32: llama.cpp quantises activations to 8 bits in its 4-bit
#: dot products, which flips near-ties (the bare "What is the capital of France?" starts "L'"
#: instead of "The", 0.08 nats apart in fp32). PT_WIDGETS_ENGINE=torch serves the exact
#: fp32 answers.
GGUF_ENGINE = "llama.cpp"


def _cpu_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """EOS ids from the generation config and model config; the tokenizer's as a fallback."""
    ids: set[int] = set()
    for cfg in (getattr(model, "generation_config", None), model.config):
        eos = getattr(cfg, "eos_token_id", None) if cfg is not None else None
        if eos is not None:
            ids.update(eos if isinstance(eos, list) else [eos])
    if not ids and tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return {int(i) for i in ids}


def _loaded(params: int, started: float) -> str:
    return f"Loaded {params / 1e6:.1f}M parameters in {time.monotonic() - started:.1f} s"


def choose_engine(source: ModelSource, engine: str | None = None) -> str:
    """The engine for a generative source: llama.cpp runs GGUF files, torch everything else."""
    from . import llamacpp

    wanted = engine or os.environ.get(ENGINE_ENV) or "auto"
    if wanted not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {ENGINES}, got {wanted!r}.")
    if wanted == "auto":
        gguf = source.kind == "gguf" and llamacpp.available()
        return GGUF_ENGINE if gguf else "torch"
    if wanted == "llama.cpp" and source.kind != "gguf":
        raise ValueError("The llama.cpp engine serves GGUF files only.")
    return wanted


def load_replica(
    source: ModelSource,
    cache_dir: str,
    log: Callable[[str], None] = lambda s: None,
    engine: str | None = None,
) -> Replica:
    """Load a model and start its worker thread.

    Generative GGUF sources run on llama.cpp (see :func:`choose_engine`); with torch, GGUF
    files are converted once into ``cache_dir`` (see ``sources.convert_gguf``) and later
    loads read the cached fp32 safetensors. ``log`` receives human-readable progress lines,
    shown as the endpoint's build logs.
    """
    threads = _cpu_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    info = inspect_source(source)
    if source.task == EMBEDDINGS:
        return _load_embeddings(source, cache_dir, log, info, threads)
    info["engine"] = choose_engine(source, engine)
    if info["engine"] == "llama.cpp":
        return _load_llamacpp(source, cache_dir, log, info)
    return _load_torch(source, cache_dir, log, info, threads)


def _load_embeddings(
    source: ModelSource, cache_dir: str, log: Callable[[str], None], info: dict, threads: int
) -> Replica:
    resolved = resolve(source, cache_dir)
    started = time.monotonic()
    log(f"Loading {info['model_type']} model from {resolved.model_dir} ({threads} CPU threads)")
    st = load_sentence_transformer(resolved)
    ctx = int(st.max_seq_length or info["context_length"])
    log(_loaded(parameter_count(st), started))
    engine = EmbeddingEngine(st, name=source.display_name or "embeddings")
    engine.encode(["warm-up"])
    log(
        f"Ready: {source.task}, {st.get_embedding_dimension()} dimensions, "
        f"max {ctx} tokens per input"
    )
    return Replica(
        source,
        ctx,
        info["model_type"],
        tokenizer=copy.deepcopy(st.tokenizer),
        embedder=engine,
        info=info,
    )


def _ready_line(source: ModelSource, info: dict, engine: str) -> str:
    ctx = int(info["context_length"])
    note = ""
    if ctx < info["native_context_length"]:
        note = f" (model supports {info['native_context_length']}; capped for CPU serving)"
    return f"Ready: {source.task} on {engine}, context length {ctx} tokens{note}"


def _load_llamacpp(
    source: ModelSource, cache_dir: str, log: Callable[[str], None], info: dict
) -> Replica:
    from .llamacpp import LlamaCppEngine

    tok = gguf_tokenizer(source, cache_dir, log)
    if source.task == "llm/v1/chat" and not getattr(tok, "chat_template", None):
        raise ValueError("The tokenizer has no chat template, so it cannot serve llm/v1/chat.")
    path = os.path.join(source.path, source.filename or "")
    started = time.monotonic()
    gen = LlamaCppEngine(path, tok, label=source.display_name or "llm")
    log(
        f"{_loaded(gen.n_params, started)} from {source.filename} with llama.cpp "
        f"({gen.threads} threads, {gen.kv_cells} KV cells)"
    )
    _warm_up(gen, tok)
    log(_ready_line(source, info, "llama.cpp"))
    return Replica(source, info["context_length"], info["model_type"], tokenizer=tok,
                   generator=gen, info=info)  # fmt: skip


def _warm_up(gen: GenerationEngine, tok: Any) -> None:
    """One tiny generation, so first allocations are not paid by the first request (its
    outcome does not matter: a broken engine fails the first real request in its own words)."""
    with contextlib.suppress(Exception):
        run_alone(gen, [tok.bos_token_id or 0], SamplingParams(max_tokens=1, temperature=0.0),
                  timeout=60)


def _load_torch(
    source: ModelSource, cache_dir: str, log: Callable[[str], None], info: dict, threads: int
) -> Replica:
    if source.kind == "gguf":
        convert_gguf(source, cache_dir, log)
    resolved = resolve(source, cache_dir)
    started = time.monotonic()
    log(f"Loading {info['model_type']} model from {resolved.model_dir} ({threads} CPU threads)")
    model, tok = load_causal_lm(resolved)
    log(_loaded(parameter_count(model), started))
    if source.task == "llm/v1/chat" and not getattr(tok, "chat_template", None):
        raise ValueError("The tokenizer has no chat template, so it cannot serve llm/v1/chat.")
    with torch.inference_mode():  # first forward allocates; keep that out of the first request
        model(input_ids=torch.tensor([[tok.bos_token_id or 0]]), use_cache=False)
    gen = TorchEngine(model, tok, eos_token_ids(model, tok), name=source.display_name or "llm")
    log(_ready_line(source, info, "torch"))
    return Replica(source, info["context_length"], info["model_type"], tokenizer=tok,
                   generator=gen, info=info)  # fmt: skip
