"""Per-row sampling and log-probabilities, vectorised over a batch of logits rows.

Shared by every generation engine: an engine hands over one float32 logits row per sequence
that produced a token this step, with that row's :class:`SamplingParams`.

Log-probabilities are the model's raw distribution (``log_softmax`` over the whole
vocabulary, before temperature, top-p and top-k), as OpenAI reports them, and are computed
only for the rows that asked; sampling uses the adjusted distribution.
"""

from __future__ import annotations

from typing import Any

import torch

from .text import TokenText
from .validation import SamplingParams

#: Temperatures below this count as 0: dividing logits by a subnormal number overflows to
#: inf and the softmax turns into NaN, while the distribution they ask for is the argmax.
GREEDY_BELOW = 1e-4


def nonfinite_rows(logits: torch.Tensor) -> list[int]:
    """Rows holding NaN or +inf, or with no finite entry: no distribution can come from them.

    Such a row means the forward pass broke for that sequence; the engine fails its request
    with a clear error instead of sampling from a repaired (e.g. uniform) row.
    """
    if logits.numel() and bool(torch.isfinite(logits.sum())):  # one pass: nothing to look at
        return []
    bad = torch.isnan(logits).any(dim=-1) | torch.isposinf(logits).any(dim=-1)
    bad |= ~torch.isfinite(logits).any(dim=-1)
    if not bool(bad.any()):
        return []
    return bad.nonzero().flatten().tolist()


def sample(
    logits: torch.Tensor, params: list[SamplingParams], gen: torch.Generator
) -> torch.Tensor:
    """Next token per row: argmax where temperature is 0, else temperature/top-k/top-p sampling.

    Expects finite rows (see :func:`nonfinite_rows`). Greedy rows cost one argmax; the sort
    for top-p/top-k runs only over the rows that use them.
    """
    tokens = logits.argmax(dim=-1)
    idx = [i for i, p in enumerate(params) if p.temperature >= GREEDY_BELOW]
    if not idx:
        return tokens
    sel = torch.tensor(idx)
    temps = torch.tensor([params[i].temperature for i in idx], dtype=logits.dtype)
    scaled = logits.index_select(0, sel) / temps.unsqueeze(1)
    if any(params[i].top_p < 1.0 or params[i].top_k > 0 for i in idx):
        vocab = scaled.shape[1]
        ordered, order = scaled.sort(dim=-1, descending=True)
        probs = ordered.softmax(dim=-1)
        top_p = torch.tensor([params[i].top_p for i in idx], dtype=probs.dtype)
        top_k = torch.tensor([params[i].top_k or vocab for i in idx])
        drop = (probs.cumsum(dim=-1) - probs) >= top_p.unsqueeze(1)
        drop |= torch.arange(vocab).unsqueeze(0) >= top_k.unsqueeze(1)
        drop[:, 0] = False  # always keep the most likely token
        choice = torch.multinomial(
            ordered.masked_fill(drop, float("-inf")).softmax(-1), 1, generator=gen
        )
        picked = order.gather(1, choice).squeeze(1)
    else:
        picked = torch.multinomial(scaled.softmax(dim=-1), 1, generator=gen).squeeze(1)
    tokens[sel] = picked
    return tokens


def logprob_entries(
    logits: torch.Tensor, tokens: list[int], params: list[SamplingParams], text: TokenText
) -> list[dict[str, Any] | None]:
    """OpenAI ``logprobs.content`` entries for the rows that asked, from the raw distribution."""
    out: list[dict[str, Any] | None] = [None] * len(tokens)
    idx = [i for i, p in enumerate(params) if p.logprobs]
    if not idx:
        return out
    sel = torch.tensor(idx)
    logp = torch.log_softmax(logits.index_select(0, sel), dim=-1)
    chosen = logp.gather(1, torch.tensor([[tokens[i]] for i in idx])).squeeze(1).tolist()
    k = max(params[i].top_logprobs for i in idx)
    top_v, top_i = logp.topk(k, dim=-1) if k else (None, None)
    for j, i in enumerate(idx):
        tok_text, tok_bytes = text.token(tokens[i])
        tops = []
        for r in range(params[i].top_logprobs):
            assert top_v is not None and top_i is not None
            t_text, t_bytes = text.token(int(top_i[j, r]))
            tops.append({"token": t_text, "logprob": float(top_v[j, r]), "bytes": t_bytes})
        out[i] = {"token": tok_text, "logprob": chosen[j], "bytes": tok_bytes, "top_logprobs": tops}
    return out
