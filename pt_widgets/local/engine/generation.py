"""The torch engine: a transformers causal LM, continuously batched (see ``loop.py``).

Kept for models logged through MLflow in safetensors and as the fp32 reference that the
llama.cpp engine's quality is checked against.

* Admission prefills the new rows at once. Identical prompts are prefilled once (``n`` > 1
  shares one prefill) and prompts of equal length are prefilled together in one forward
  pass, so a prefill never contains padding. The new KV caches are then merged into the
  running batch's cache by left-padding the shorter one with zeros along the time axis; the
  2-D attention mask marks those columns as padding, and each row carries its own
  ``position_ids`` so RoPE positions stay exact whatever the padding.
* Each decode step feeds every active row its last sampled token (one ``[B, 1]`` forward
  with the shared ``DynamicCache``). Finished rows are dropped from the batch
  (``index_select`` on the cache) and leading columns that became all-padding are trimmed.
* ``self._order`` lists the rows in the order of the cache's batch axis.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache

from .loop import MAX_BATCH, BatchLoop, Row


class TorchEngine(BatchLoop):
    """Owns a causal LM on a worker thread and serves :class:`GenJob` s in batches."""

    name = "torch"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        eos_ids: set[int],
        max_batch: int = MAX_BATCH,
        name: str = "generation",
    ) -> None:
        super().__init__(tokenizer, eos_ids, max_batch, label=name)
        self.model = model
        self._order: list[Row] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None
        self._fresh: tuple[list[Row], torch.Tensor] | None = None
        self.start()

    def _shutdown(self) -> None:
        self.model = None

    def _reset(self) -> None:
        self._order, self._cache, self._mask, self._fresh = [], None, None, None

    # -- hooks ----------------------------------------------------------------------------------

    def _admit_rows(self, rows: list[Row]) -> None:
        self._fresh = self._prefill(rows)

    def _forward(self) -> tuple[list[Row], torch.Tensor]:
        if self._fresh is not None:
            fresh, self._fresh = self._fresh, None
            return fresh
        return self._decode_step()

    # -- prefill and cache surgery -------------------------------------------------------------

    def _prefill(self, new: list[Row]) -> tuple[list[Row], torch.Tensor]:
        """Prefill new rows (grouped by prompt length); their first logits, in cache order."""
        by_len: dict[int, list[tuple[int, ...]]] = {}
        for row in new:
            group = by_len.setdefault(len(row.prompt), [])
            if row.prompt not in group:
                group.append(row.prompt)
        ordered: list[Row] = []
        logits_rows: list[torch.Tensor] = []
        for length, prompts in by_len.items():
            ids = torch.tensor(prompts, dtype=torch.long)
            pos = torch.arange(length).unsqueeze(0).expand(len(prompts), -1)
            cache = DynamicCache()
            out = self.model(
                input_ids=ids,
                position_ids=pos,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            self.stats["prefill_tokens"] += ids.numel()
            rows = [r for r in new if len(r.prompt) == length]
            sel = torch.tensor([prompts.index(r.prompt) for r in rows])
            mask = torch.ones(len(rows), length, dtype=torch.long)
            kv = [(k.index_select(0, sel), v.index_select(0, sel)) for k, v in _layers(cache)]
            self._merge(kv, mask)
            ordered.extend(rows)
            logits_rows.append(out.logits[:, -1, :].index_select(0, sel))
        self._order.extend(ordered)
        return ordered, torch.cat(logits_rows).float()

    def _merge(self, kv: list[tuple[torch.Tensor, torch.Tensor]], mask: torch.Tensor) -> None:
        """Append rows to the running batch, left-padding whichever cache is shorter."""
        if self._cache is None or self._mask is None:
            self._cache = DynamicCache(ddp_cache_data=kv)
            self._mask = mask
            return
        t_old, t_new = self._mask.shape[1], mask.shape[1]
        t = max(t_old, t_new)
        merged = []
        for (k0, v0), (k1, v1) in zip(_layers(self._cache), kv, strict=True):
            merged.append(
                (
                    torch.cat([_pad_left(k0, t), _pad_left(k1, t)]),
                    torch.cat([_pad_left(v0, t), _pad_left(v1, t)]),
                )
            )
        self._cache = DynamicCache(ddp_cache_data=merged)
        self._mask = torch.cat([_pad_left_mask(self._mask, t), _pad_left_mask(mask, t)])

    def _release(self, rows: list[Row]) -> None:
        """Drop rows from the cache and trim time columns that are now padding for everyone."""
        drop = set(map(id, rows))
        keep = [i for i, r in enumerate(self._order) if id(r) not in drop]
        if len(keep) == len(self._order):
            return
        self._order = [self._order[i] for i in keep]
        if not keep or self._cache is None or self._mask is None:
            self._reset()
            return
        idx = torch.tensor(keep)
        mask = self._mask.index_select(0, idx)
        first = int((mask.sum(0) > 0).nonzero()[0])
        mask = mask[:, first:]
        kv = [
            (k.index_select(0, idx)[:, :, first:], v.index_select(0, idx)[:, :, first:])
            for k, v in _layers(self._cache)
        ]
        self._cache = DynamicCache(ddp_cache_data=kv)
        self._mask = mask

    # -- decoding -----------------------------------------------------------------------------

    def _decode_step(self) -> tuple[list[Row], torch.Tensor]:
        assert self._mask is not None
        rows = self._order
        b = len(rows)
        ids = torch.tensor([[r.last] for r in rows], dtype=torch.long)
        pos = torch.tensor([[r.next_pos] for r in rows], dtype=torch.long)
        mask = torch.cat([self._mask, torch.ones(b, 1, dtype=torch.long)], dim=1)
        out = self.model(
            input_ids=ids,
            position_ids=pos,
            attention_mask=mask,
            past_key_values=self._cache,
            use_cache=True,
        )
        self._mask = mask
        for r in rows:
            r.next_pos += 1
        return list(rows), out.logits[:, -1, :].float()



# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _layers(cache: DynamicCache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _pad_left(x: torch.Tensor, t: int) -> torch.Tensor:
    """Zero-pad a ``[B, H, T, D]`` cache tensor on the left of the time axis to length t."""
    if x.shape[2] == t:
        return x
    pad = x.new_zeros(x.shape[0], x.shape[1], t - x.shape[2], x.shape[3])
    return torch.cat([pad, x], dim=2)


def _pad_left_mask(m: torch.Tensor, t: int) -> torch.Tensor:
    if m.shape[1] == t:
        return m
    return torch.cat([m.new_zeros(m.shape[0], t - m.shape[1]), m], dim=1)


