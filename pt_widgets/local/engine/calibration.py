"""Measure what one replica really serves: the provisioned-throughput chunk size.

A closed-loop load of ``concurrency`` clients, each sending its next short request as soon as
the previous one ends, for exactly ``seconds``. Generation requests are streamed, so input
and output tokens are counted as they are produced (``usage.total_tokens`` of each chunk) and
the requests still running at the deadline are cancelled rather than drained: the result is
the steady-state rate, including batching gains, prefill, sampling and Python overhead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

PROMPTS = (
    "What is Apache Spark?",
    "Write a haiku about the sea.",
    "Give me three tips for writing clean Python code.",
    "Explain what a vector database is.",
    "Why is the sky blue?",
    "Summarise the plot of Hamlet in two sentences.",
    "What does a data engineer do?",
    "Name a few uses of machine learning in retail.",
)
SENTENCES = (
    "The cat sits on the mat.",
    "Provisioned throughput reserves capacity for a model.",
    "Spark processes large datasets in parallel.",
    "A quick brown fox jumps over the lazy dog.",
    "Embeddings map text to vectors.",
    "The weather is sunny today.",
    "Delta Lake adds transactions to data lakes.",
    "Unity Catalog governs tables and models.",
)


def measure_throughput(replica: Any, seconds: float = 10.0, concurrency: int = 8) -> float:
    """Tokens/s (input + output) one replica serves under ~``concurrency`` concurrent requests.

    Chat/completions: short prompts, 32-64 new tokens each. Embeddings: batches of 8
    sentences, input tokens only. Safe to call from inside a running event loop (it then
    runs its own loop on a helper thread).
    """
    coro = _measure(replica, seconds, concurrency)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _request(replica: Any, k: int) -> tuple[str, dict[str, Any]]:
    if replica.task == "llm/v1/embeddings":
        return "embeddings", {"input": [SENTENCES[(k + j) % len(SENTENCES)] for j in range(8)]}
    max_tokens = 32 + (k * 11) % 33  # 32..64
    prompt = PROMPTS[k % len(PROMPTS)]
    if replica.task == "llm/v1/chat":
        msgs = [{"role": "user", "content": prompt}]
        return "chat", {"messages": msgs, "max_tokens": max_tokens, "temperature": 0.7}
    return "completions", {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.7}


async def _measure(replica: Any, seconds: float, concurrency: int) -> float:
    method, body = _request(replica, 0)
    warm = dict(body, max_tokens=4) if method != "embeddings" else body
    await getattr(replica, method)(warm)
    total = 0

    async def client(i: int) -> None:
        nonlocal total
        k = i
        while True:
            method, body = _request(replica, k)
            k += concurrency
            if method == "embeddings":
                result = await replica.embeddings(body)
                total += int(result["usage"]["total_tokens"])
                continue
            seen = 0  # stream, so tokens count the moment they exist
            async for chunk in getattr(replica, f"{method}_stream")(dict(body, stream=True)):
                now = int(chunk["usage"]["total_tokens"])
                total += now - seen
                seen = now

    start = time.perf_counter()
    tasks = [asyncio.ensure_future(client(i)) for i in range(concurrency)]
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - start
    counted = total
    for t in tasks:  # abandoning the streams drops their rows from the batch
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return counted / elapsed
