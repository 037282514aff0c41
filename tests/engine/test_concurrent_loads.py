"""Models loaded on several threads at once come out whole (the root cause of the NaN).

transformers' ``from_pretrained`` ties weights through process-wide state; two loads at the
same time (a deploy while a calibration measures another model) used to leave a tied
``lm_head.weight`` on the meta device: logits of 1e29 or NaN, garbage text, at random. The
local workspace serialises model construction (``sources._LOAD_LOCK``); this test loads the
real chat model on one thread while another thread keeps loading a tiny tied-weights Llama,
and compares every load's logits with a lone load.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from pt_widgets.local.engine.sources import ResolvedSource, convert_gguf, load_causal_lm

from ..support import tiny_chat_pipeline
from .helpers import CACHE_DIR, smol_source

IDS = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])


def logits(model) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=IDS, use_cache=False).logits


def causal(path: str) -> ResolvedSource:
    return ResolvedSource("causal_lm", path, path, "llm/v1/chat")


def test_loads_on_two_threads_give_the_same_model_as_a_lone_load(tmp_path: Path) -> None:
    smol = causal(convert_gguf(smol_source(), CACHE_DIR, lambda line: None))
    tiny_dir = tmp_path / "tiny"
    tiny = tiny_chat_pipeline()
    tiny.model.save_pretrained(tiny_dir)
    tiny.tokenizer.save_pretrained(tiny_dir)
    alone = logits(load_causal_lm(smol)[0])
    stop, tiny_loads, errors = threading.Event(), [], []

    def keep_loading_tiny() -> None:
        try:
            while not stop.is_set() or not tiny_loads:  # at least one, on any machine
                tiny_loads.append(logits(load_causal_lm(causal(str(tiny_dir)))[0]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    other = threading.Thread(target=keep_loading_tiny, daemon=True)
    other.start()
    try:
        together = [logits(load_causal_lm(smol)[0]) for _ in range(4)]
    finally:
        stop.set()
        other.join(300)
    assert not errors, errors
    assert tiny_loads and all(torch.isfinite(t).all() for t in tiny_loads)
    for out in together:
        assert torch.allclose(out, alone, atol=1e-4), (out - alone).abs().max()
