"""Where model weights come from, and how they become a loaded model.

Four kinds of source are served (see :class:`ModelSource`). Everything here runs without a
network: callers must set ``HF_HUB_OFFLINE=1``, and every ``from_pretrained`` is pointed at a
local directory.

The GGUF path has a trap (``/work/shared/docs/models.md``): transformers de-quantizes the GGUF
file in ~20 s on every load, and the resulting model refuses ``save_pretrained``. So the first
load converts once: a fresh model is built from the config *without* ``quantization_config``,
the de-quantized weights are loaded into it, and it is saved as fp32 safetensors plus the
tokenizer in ``cache_dir``. Later loads read that directory in ~2 s.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

KINDS = ("gguf", "hf", "mlflow", "sentence_transformers")
TASKS = ("llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings")

#: Served context of a generative model is capped here: a 135M model on 2 CPU cores cannot
#: usefully attend over 8k tokens, and a cap keeps one request from stalling a whole batch.
MAX_SERVED_CONTEXT = 2048

Log = Callable[[str], None]


@dataclass(frozen=True)
class ModelSource:
    """A model to serve: what kind of directory it is, and which task it answers."""

    kind: str  # "gguf" | "hf" | "mlflow" | "sentence_transformers"
    path: str  # a directory
    task: str  # "llm/v1/chat" | "llm/v1/completions" | "llm/v1/embeddings"
    filename: str | None = None  # the .gguf file name inside path, for kind="gguf"
    system_prompt: str | None = None  # default system prompt for chat requests without one
    display_name: str = ""  # returned as "model" in responses


@dataclass
class ResolvedSource:
    """A source reduced to the directory that transformers / sentence-transformers can read."""

    kind: str  # "causal_lm" or "sentence_transformer"
    model_dir: str
    tokenizer_dir: str
    task: str


def check_source(source: ModelSource) -> None:
    """Fail early, with one sentence, on a source that cannot be served."""
    if source.kind not in KINDS:
        raise ValueError(f"ModelSource.kind must be one of {KINDS}, got {source.kind!r}.")
    if source.task not in TASKS:
        raise ValueError(f"ModelSource.task must be one of {TASKS}, got {source.task!r}.")
    if not os.path.isdir(source.path):
        raise FileNotFoundError(f"Model directory {source.path!r} does not exist.")
    if source.kind == "gguf" and not source.filename:
        raise ValueError("ModelSource.filename (the .gguf file) is required for kind 'gguf'.")


# ---------------------------------------------------------------------------------------------
# inspect_source: metadata only, no weights
# ---------------------------------------------------------------------------------------------


def _read_json(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _config_summary(config: dict[str, Any]) -> dict[str, Any]:
    text = config.get("text_config") or {}
    native = config.get("max_position_embeddings") or text.get("max_position_embeddings") or 2048
    return {
        "model_type": config.get("model_type", "unknown"),
        "architectures": list(config.get("architectures") or []),
        "native_context_length": int(native),
    }


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def read_gguf_metadata(file_path: str, wanted: set[str]) -> dict[str, Any]:
    """Scalar/string key-values of a GGUF header, stopping once all ``wanted`` keys are seen.

    A hand-rolled reader because ``gguf.GGUFReader`` parses every array (49k vocabulary
    strings) and takes ~2.5 s; this skips arrays and returns in milliseconds.
    """
    import struct

    found: dict[str, Any] = {}
    with open(file_path, "rb") as f:

        def read(fmt: str) -> Any:
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(read("<Q")).decode("utf-8", errors="replace")

        def value(kind: int) -> Any:
            if kind in _GGUF_SCALARS:
                return read(_GGUF_SCALARS[kind])
            if kind == _GGUF_STRING:
                return string()
            if kind == _GGUF_ARRAY:
                item, count = read("<I"), read("<Q")
                if item in _GGUF_SCALARS:
                    f.seek(struct.calcsize(_GGUF_SCALARS[item]) * count, 1)
                else:
                    for _ in range(count):
                        value(item)
                return None
            raise ValueError(f"{file_path}: unknown GGUF value type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError(f"{file_path} is not a GGUF file.")
        read("<I")  # version
        read("<Q")  # tensor count
        for _ in range(read("<Q")):
            key = string()
            found[key] = value(read("<I"))
            if wanted <= found.keys():
                break
    return found


def _gguf_summary(file_path: str) -> dict[str, Any]:
    """Architecture and context length from the GGUF header (no tensors, no vocabulary)."""
    arch = read_gguf_metadata(file_path, {"general.architecture"}).get("general.architecture")
    arch = arch or "unknown"
    meta = read_gguf_metadata(file_path, {f"{arch}.context_length"})
    ctx = meta.get(f"{arch}.context_length") or 2048
    arch_names = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}
    return {
        "model_type": arch,
        "architectures": [arch_names.get(arch, f"{arch}ForCausalLM")],
        "native_context_length": int(ctx),
    }


def read_mlmodel(path: str) -> dict[str, Any]:
    """Parse an MLflow ``MLmodel`` file (YAML)."""
    import yaml

    mlmodel = os.path.join(path, "MLmodel")
    if not os.path.isfile(mlmodel):
        raise FileNotFoundError(f"{path!r} has no MLmodel file: not an MLflow model directory.")
    with open(mlmodel, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def resolve(source: ModelSource, cache_dir: str | None = None) -> ResolvedSource:
    """Map a source to loadable directories. GGUF sources resolve to their conversion cache."""
    check_source(source)
    embed = source.task == "llm/v1/embeddings"
    if source.kind == "gguf":
        if embed:
            raise ValueError("GGUF sources can only serve chat or completions.")
        d = gguf_cache_path(source, cache_dir or "")
        return ResolvedSource("causal_lm", d, d, source.task)
    if source.kind == "hf":
        kind = "sentence_transformer" if embed else "causal_lm"
        return ResolvedSource(kind, source.path, source.path, source.task)
    if source.kind == "sentence_transformers":
        if not embed:
            raise ValueError("sentence_transformers sources can only serve llm/v1/embeddings.")
        return ResolvedSource("sentence_transformer", source.path, source.path, source.task)
    return _resolve_mlflow(source)


def _resolve_mlflow(source: ModelSource) -> ResolvedSource:
    """Find the flavor directory of an MLflow artifact (transformers or sentence_transformers)."""
    meta = read_mlmodel(source.path)
    flavors = meta.get("flavors") or {}
    pyfunc = flavors.get("python_function") or {}
    if "transformers" in flavors:
        flavor = flavors["transformers"]
        model_dir = os.path.join(source.path, flavor.get("model_binary") or "model")
        tok_dir = os.path.join(source.path, "components", "tokenizer")
        if "tokenizer" not in (flavor.get("components") or []) or not os.path.isdir(tok_dir):
            tok_dir = model_dir
        embed = source.task == "llm/v1/embeddings"
        kind = "sentence_transformer" if embed else "causal_lm"
        return ResolvedSource(kind, model_dir, tok_dir, source.task)
    if "sentence_transformers" in flavors:
        data = pyfunc.get("data") or "model.sentence_transformer"
        model_dir = os.path.join(source.path, data)
        return ResolvedSource("sentence_transformer", model_dir, model_dir, source.task)
    raise ValueError(
        f"MLflow model at {source.path!r} has flavors {sorted(flavors)}; only 'transformers' "
        "and 'sentence_transformers' can be served."
    )


def _st_max_seq_length(r: ResolvedSource) -> int | None:
    """sentence-transformers' max_seq_length: ``sentence_bert_config.json`` in 3.x-5.x folders;
    folders re-saved by 6.x keep it only as the tokenizer's ``model_max_length``."""
    st_cfg = os.path.join(r.model_dir, "sentence_bert_config.json")
    if os.path.isfile(st_cfg):
        seq = _read_json(st_cfg).get("max_seq_length")
        if seq:
            return int(seq)
    tok_cfg = os.path.join(r.tokenizer_dir, "tokenizer_config.json")
    if os.path.isfile(tok_cfg):
        seq = _read_json(tok_cfg).get("model_max_length")
        if isinstance(seq, int) and 0 < seq < 1_000_000:
            return seq
    return None


def inspect_source(source: ModelSource) -> dict[str, Any]:
    """Cheap metadata (no weights): model_type, architectures and the served context length.

    ``context_length`` is what requests are checked against: the model's own limit, capped at
    :data:`MAX_SERVED_CONTEXT` for generative models, or the sentence-transformers
    ``max_seq_length`` for embedding models. ``native_context_length`` is the uncapped value.
    """
    check_source(source)
    if source.kind == "gguf":
        info = _gguf_summary(os.path.join(source.path, source.filename or ""))
    else:
        r = resolve(source)
        info = _config_summary(_read_json(os.path.join(r.model_dir, "config.json")))
        if r.kind == "sentence_transformer":
            seq = _st_max_seq_length(r)
            if seq:
                info["native_context_length"] = min(seq, info["native_context_length"])
        if source.kind == "mlflow":
            meta = read_mlmodel(source.path)
            info["mlflow_task"] = (meta.get("metadata") or {}).get("task")
    native = info["native_context_length"]
    embed = source.task == "llm/v1/embeddings"
    info["context_length"] = native if embed else min(native, MAX_SERVED_CONTEXT)
    return info


# ---------------------------------------------------------------------------------------------
# GGUF conversion cache
# ---------------------------------------------------------------------------------------------


def gguf_cache_path(source: ModelSource, cache_dir: str) -> str:
    """Cache directory of a GGUF file: keyed by file name and size so a new file re-converts."""
    file_path = os.path.join(source.path, source.filename or "")
    size = os.path.getsize(file_path)
    key = hashlib.sha256(f"{os.path.basename(file_path)}:{size}".encode()).hexdigest()[:12]
    stem = os.path.splitext(os.path.basename(file_path))[0]
    return os.path.join(cache_dir, f"gguf-{stem}-{key}")


#: One model construction at a time in this process. transformers' ``from_pretrained`` is not
#: thread-safe: it builds the model on the meta device and ties weights through process-wide
#: state, so two loads on two threads (a deploy loading while a calibration loads another
#: model) can leave a tied ``lm_head.weight`` on the meta device, i.e. uninitialised memory:
#: logits of 1e29 or NaN, garbage text, at random. Reproduced with two threads loading
#: SmolLM2 and a tiny Llama (15 of 15 loads corrupted), none with this lock. This was the
#: "non-finite logits, seen intermittently in CI" of earlier rounds.
_LOAD_LOCK = threading.RLock()


@contextlib.contextmanager
def _loading() -> Iterator[None]:
    """Hold the process-wide load lock, with transformers' progress bars off (they would
    garble build logs; the switch is process-wide too, so it is flipped under the lock)."""
    with _LOAD_LOCK, _quiet_progress():
        yield


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """transformers prints tqdm bars to stderr while loading; they would garble build logs."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    # The GGUF de-quantizer uses tqdm directly, not the transformers switch above.
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - older/newer transformers layout
        gguf_utils = None
    orig_tqdm = getattr(gguf_utils, "tqdm", None)
    if orig_tqdm is not None:
        gguf_utils.tqdm = functools.partial(orig_tqdm, disable=True)
    try:
        yield
    finally:
        if orig_tqdm is not None:
            gguf_utils.tqdm = orig_tqdm
        if was:
            hf_logging.enable_progress_bar()


def convert_gguf(source: ModelSource, cache_dir: str, log: Log) -> str:
    """Convert a GGUF file to an fp32 transformers directory once; return that directory.

    Writes into a temporary sibling and renames it at the end, so a crash or a concurrent
    process never leaves a half-written cache behind.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = gguf_cache_path(source, cache_dir)
    if os.path.isfile(os.path.join(target, "model.safetensors")):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{target}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.monotonic()
    log(f"Converting GGUF {source.filename} to fp32 safetensors (one-time, ~30 s) ...")
    with _loading():
        tok = AutoTokenizer.from_pretrained(source.path, gguf_file=source.filename)
        quant = AutoModelForCausalLM.from_pretrained(
            source.path, gguf_file=source.filename, dtype=torch.float32
        )
        log(f"De-quantized {source.filename} in {time.monotonic() - start:.1f} s")
        config = copy.deepcopy(quant.config)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        fresh.load_state_dict(quant.state_dict(), strict=True)
        fresh.generation_config = quant.generation_config
        del quant
        _fix_gguf_tokenizer(tok, config)
        fresh.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    _publish(tmp, target)
    log(f"Converted and cached at {target} in {time.monotonic() - start:.1f} s")
    return target


def gguf_tokenizer(source: ModelSource, cache_dir: str, log: Log) -> Any:
    """The HF tokenizer of a GGUF file (chat template included), without its weights.

    The llama.cpp engine runs the GGUF itself, so it needs only the tokenizer: read from the
    fp32 conversion if one exists, else built once from the GGUF header (a few seconds) and
    cached on its own, so serving a GGUF with llama.cpp never pays the ~30 s conversion.
    """
    from transformers import AutoConfig, AutoTokenizer

    converted = gguf_cache_path(source, cache_dir)
    if os.path.isfile(os.path.join(converted, "tokenizer_config.json")):
        return AutoTokenizer.from_pretrained(converted)
    target = converted.replace(os.sep + "gguf-", os.sep + "gguf-tokenizer-")
    if not os.path.isfile(os.path.join(target, "tokenizer_config.json")):
        started = time.monotonic()
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{target}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        with _loading():
            tok = AutoTokenizer.from_pretrained(source.path, gguf_file=source.filename)
            config = AutoConfig.from_pretrained(source.path, gguf_file=source.filename)
        _fix_gguf_tokenizer(tok, config)
        tok.save_pretrained(tmp)
        _publish(tmp, target)
        log(f"Read the tokenizer of {source.filename} in {time.monotonic() - started:.1f} s")
    return AutoTokenizer.from_pretrained(target)


def _fix_gguf_tokenizer(tok: Any, config: Any) -> None:
    """The GGUF tokenizer reports the BOS token as EOS; the model's config has the real one."""
    eos = config.eos_token_id
    eos = eos[0] if isinstance(eos, list) else eos
    if eos is not None:
        tok.eos_token = tok.convert_ids_to_tokens(int(eos))
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    tok.clean_up_tokenization_spaces = False


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_causal_lm(resolved: ResolvedSource) -> tuple[Any, Any]:
    """fp32 eval-mode causal LM and its tokenizer, with SDPA attention."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _loading():
        tok = AutoTokenizer.from_pretrained(resolved.tokenizer_dir)
        model = AutoModelForCausalLM.from_pretrained(
            resolved.model_dir, dtype=torch.float32, attn_implementation="sdpa"
        )
    model.eval()
    check_materialised(model)
    return model, tok


def check_materialised(model: Any) -> None:
    """Refuse a model with a parameter left on the meta device (never initialised memory)."""
    left = [name for name, p in model.named_parameters() if p.device.type == "meta"]
    if left:
        raise RuntimeError(
            f"The model loaded incompletely: {', '.join(left[:3])} were never materialised."
        )


def load_sentence_transformer(resolved: ResolvedSource) -> Any:
    """A SentenceTransformer; a plain transformers directory gets mean pooling + normalisation.

    (The transformers feature-extraction path would take the first token's hidden state,
    which is not the model's sentence embedding: see ``models.md``.)
    """
    from sentence_transformers import SentenceTransformer

    with _loading():
        if os.path.isfile(os.path.join(resolved.model_dir, "modules.json")):
            st = SentenceTransformer(resolved.model_dir, device="cpu")
        else:
            from sentence_transformers.sentence_transformer.modules import (
                Normalize,
                Pooling,
                Transformer,
            )

            word = Transformer(resolved.model_dir, tokenizer_name_or_path=resolved.tokenizer_dir)
            pool = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
            st = SentenceTransformer(modules=[word, pool, Normalize()], device="cpu")
    st.eval()
    return st


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def _publish(tmp: str, target: str) -> None:
    """Move a finished cache folder into place in one rename; if another process published
    the same folder first, keep theirs and drop ours (both hold the same files)."""
    if os.path.isdir(target):
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, target)
