"""Token text: incremental detokenisation, stop strings, and the bytes of single tokens.

Streaming must never emit text it may have to take back. Two things can change the tail of
the decoded text as more tokens arrive: a multi-byte UTF-8 character split across tokens
(decoded as U+FFFD until complete), and a stop string that has only partly appeared. Both are
held back until resolved; see :func:`holdback`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_REPLACEMENT = "\ufffd"
_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode``: byte-level BPE token characters to bytes."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def find_stop(text: str, stops: tuple[str, ...], start: int) -> int:
    """Earliest index >= ``start`` where a stop string begins, or -1."""
    best = -1
    for s in stops:
        i = text.find(s, start)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


def holdback(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters are not yet safe to emit.

    That is the longest suffix that is a proper prefix of a stop string, or the trailing
    run of U+FFFD (an incomplete UTF-8 sequence), whichever is longer.
    """
    hold = len(text) - len(text.rstrip(_REPLACEMENT))
    longest = max((len(s) for s in stops), default=0)
    for k in range(min(longest - 1, len(text)), hold, -1):
        tail = text[-k:]
        if any(s.startswith(tail) for s in stops):
            return k
    return hold


class TokenText:
    """Decoding helpers bound to one tokenizer (token strings and bytes are cached)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        probe = tokenizer.convert_ids_to_tokens(tokenizer.encode(" a b", add_special_tokens=False))
        self.byte_level = any("Ġ" in (t or "") for t in probe)
        self._info: dict[int, tuple[str, list[int]]] = {}

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(
            ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def token(self, token_id: int) -> tuple[str, list[int]]:
        """(text, UTF-8 bytes) of one token, as OpenAI's logprobs report it.

        ``bytes`` are the token's raw bytes (a token may hold part of a character); the text
        is those bytes decoded with replacement.
        """
        hit = self._info.get(token_id)
        if hit is None:
            raw = self._raw_bytes(token_id)
            hit = (raw.decode("utf-8", errors="replace"), list(raw))
            self._info[token_id] = hit
        return hit

    def _raw_bytes(self, token_id: int) -> bytes:
        piece = self.tokenizer.convert_ids_to_tokens(int(token_id))
        if piece is None:
            return b""
        if token_id in self.tokenizer.all_special_ids:
            return piece.encode("utf-8")
        if self.byte_level:
            table = _byte_decoder()
            if all(ch in table for ch in piece):
                return bytes(table[ch] for ch in piece)
        m = _BYTE_TOKEN.match(piece)
        if m:
            return bytes([int(m.group(1), 16)])
        if piece.startswith("##"):  # WordPiece continuation
            return piece[2:].encode("utf-8")
        return piece.replace("▁", " ").encode("utf-8")


class IncrementalText:
    """The decoded text of a growing token list, decoding a short window per new token.

    Decoding the whole sequence at every step costs O(n) per token (O(n²) per row). Here each
    token decodes only the tokens since the last committed boundary (usually one or two):
    ``committed`` grows when the window decodes to complete characters, and
    :meth:`full` adds the still-incomplete tail (shown with U+FFFD) when a row ends. Both
    windows start at the same token, so tokenizers that treat a sequence's first token
    specially (SentencePiece's leading space) give the same difference as a full decode.
    """

    def __init__(self, text: TokenText) -> None:
        self._text = text
        self.ids: list[int] = []
        self.committed = ""
        self._prefix = 0  # first token of the decode window
        self._read = 0  # tokens before this are in `committed`

    def append(self, token_id: int) -> None:
        self.ids.append(token_id)
        head, tail = self._window()
        if len(tail) > len(head) and not tail.endswith(_REPLACEMENT):
            self.committed += tail[len(head) :]
            self._prefix, self._read = self._read, len(self.ids)

    def full(self) -> str:
        """Committed text plus the decoded remainder (possibly ending in U+FFFD)."""
        head, tail = self._window()
        return self.committed + tail[len(head) :]

    def _window(self) -> tuple[str, str]:
        decode = self._text.decode
        return decode(self.ids[self._prefix : self._read]), decode(self.ids[self._prefix :])
