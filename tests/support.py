"""Test support: a REAL local workspace server process, and polling with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY_LINE = "pt-widgets local workspace ready at"
BULK_MODELS = 10_000
MODEL_CACHE = os.environ.get("PT_WIDGETS_MODEL_CACHE", "/tmp/pt_widgets_test_model_cache")
START_TIMEOUT_S = 120


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PT_WIDGETS_MODEL_CACHE=MODEL_CACHE,
        PT_WIDGETS_CALIBRATION_SECONDS=env.get("PT_WIDGETS_CALIBRATION_SECONDS", "4"),
        # Off for test servers unless a test turns it on (tests/server/test_preparation.py):
        # the suite starts dozens of servers on fresh data dirs, most of which never size a
        # model, and a measurement in the background of each would only load the 2 CPUs.
        PT_WIDGETS_PREPARE_AT_START=env.get("PT_WIDGETS_PREPARE_AT_START", "0"),
        # one chunk = one replica's measured throughput, and a pool of a thousand machines:
        # the suite deploys dozens of endpoints into shared servers; the pool's own rules
        # (4 chunks, one machine) are tests/server/test_capacity.py's
        PT_WIDGETS_CAPACITY_CHUNKS=env.get("PT_WIDGETS_CAPACITY_CHUNKS", "1"),
        PT_WIDGETS_CAPACITY_MACHINES=env.get("PT_WIDGETS_CAPACITY_MACHINES", "1000"),
        PYTHONUNBUFFERED="1",
    )
    for key in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        env.pop(key, None)
    return env


@dataclass
class ServerProcess:
    """A running ``pt-widgets local serve`` and what a client needs to reach it."""

    data_dir: Path
    token: str = "dapi-test-token-0123456789abcdef"
    host: str = ""
    proc: subprocess.Popen | None = None
    output: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0  # 0: a new free port per start; fixed: the same URL across restarts
    extra_args: list[str] = field(default_factory=list)  # appended to `serve`
    pass_token: bool = True  # False: the server picks and stores its own (read back after start)

    @property
    def load_hold_file(self) -> Path:
        """While this file exists the server holds every weight load (see ``holding_loads``)."""
        return self.data_dir.parent / f"{self.data_dir.name}.hold-loads"

    @contextlib.contextmanager
    def holding_loads(self) -> Iterator[None]:
        """Deploys started inside stay IN_PROGRESS until the block ends, on any machine."""
        self.load_hold_file.touch()
        try:
            yield
        finally:
            self.load_hold_file.unlink(missing_ok=True)

    def start(self, timeout: float = START_TIMEOUT_S) -> ServerProcess:
        self.output = []
        env = {**server_env(), "PT_WIDGETS_LOAD_HOLD_FILE": str(self.load_hold_file), **self.env}
        if self.pass_token:
            env["PT_WIDGETS_LOCAL_TOKEN"] = self.token  # not on the command line: `ps` shows it
        else:
            env.pop("PT_WIDGETS_LOCAL_TOKEN", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pt_widgets.local", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        ready = threading.Event()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            # also on disk, next to the data (pytest keeps the last runs' tmp dirs): what a
            # failed CI run's server said is there to read afterwards
            with open(self.data_dir.parent / f"{self.data_dir.name}.server.log", "a") as log:
                for line in self.proc.stdout:
                    log.write(line)
                    log.flush()
                    self._take(line, ready)
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(timeout) or not self.host:
            self.stop()
            raise RuntimeError("local workspace did not start:\n" + "\n".join(self.output[-40:]))
        if not self.pass_token:
            self.token = (self.data_dir / "token").read_text().strip()
        return self

    def _take(self, line: str, ready: threading.Event) -> None:
        self.output.append(line.rstrip("\n"))
        if line.startswith(READY_LINE):
            self.host = line.split()[-1]
            ready.set()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll a real condition with a deadline (synchronisation on state, not on sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def spend_at_admission(server: ServerProcess, endpoint: str, content: str) -> None:
    """Send a streamed chat and return at its first event, i.e. right after admission.

    Its prompt tokens are charged to the endpoint's bucket whole (the first event already
    counts them), and the bucket's refill starts now: not after the prefill, so a slow or
    busy engine cannot let it refill before the caller's next request.
    """
    import json

    import requests

    def admitted():  # an earlier reservation may still be refilling: ask again
        response = requests.post(f"{server.host}/serving-endpoints/{endpoint}/invocations",
                                 headers=server.headers, timeout=120, stream=True,
                                 json={"messages": [{"role": "user", "content": content}],
                                       "max_tokens": 1, "stream": True})
        if response.status_code == 429:
            response.close()
            return None
        return response

    with wait_until(admitted, 60, interval=0.5, what="the query admitted") as response:
        assert response.status_code == 200, response.text
        first = next(line for line in response.iter_lines() if line)
        assert json.loads(first.decode().removeprefix("data: "))["usage"]["prompt_tokens"] > 0


def optimization_info(server: ServerProcess, model: str, version: int = 1) -> dict:
    import requests

    response = requests.get(
        f"{server.host}/api/2.0/serving-endpoints/get-model-optimization-info/{model}/{version}",
        headers=server.headers, timeout=180)
    response.raise_for_status()
    return response.json()


def deploy(server: ServerProcess, name: str, model: str, low: int, high: int,
           scale_to_zero: bool = False, timeout: float = 300) -> dict:
    """Create an endpoint sized in chunks (low..high) and wait until it is READY."""
    import requests

    chunk = optimization_info(server, model)["throughput_chunk_size"]
    entity = {"entity_name": model, "entity_version": "1",
              "min_provisioned_throughput": low * chunk,
              "max_provisioned_throughput": high * chunk,
              "scale_to_zero_enabled": scale_to_zero}
    response = requests.post(f"{server.host}/api/2.0/serving-endpoints", headers=server.headers,
                             json={"name": name, "config": {"served_entities": [entity]}},
                             timeout=60)
    assert response.status_code == 200, response.text

    def ready():
        body = requests.get(f"{server.host}/api/2.0/serving-endpoints/{name}",
                            headers=server.headers, timeout=10).json()
        if body["state"]["config_update"] == "UPDATE_FAILED":
            raise AssertionError(f"deploy of {name} failed: {body}")
        return body if body["state"]["ready"] == "READY" else None

    return wait_until(ready, timeout, what=f"endpoint {name} READY")


TEXTS = ["hello world", "the cat sat on the mat", "provisioned throughput serves tokens",
         "a tiny model says hello"] * 8


def tiny_chat_pipeline():
    """A tiny random-weight Llama chat pipeline with a BPE tokenizer (logs in ~1 s)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, pipeline

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(TEXTS, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|bos|>",
                                  eos_token="<|eos|>", pad_token="<|pad|>")
    tok.chat_template = ("{% for m in messages %}<|bos|>{{ m['role'] }}\n{{ m['content'] }}"
                         "<|eos|>{% endfor %}{% if add_generation_prompt %}<|bos|>assistant\n"
                         "{% endif %}")
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
        tie_word_embeddings=True, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id)).eval()
    return pipeline("text-generation", model=model, tokenizer=tok)


def log_tiny_chat_model(server: ServerProcess, full_name: str,
                        experiment: str = "pt-widgets-tests") -> Any:
    """Log a tiny chat model as a new version of ``full_name`` (the seed's MLflow flow);
    returns MLflow's model info (``.registered_model_version``)."""
    import mlflow

    previous = os.environ.get("MLFLOW_TRACKING_TOKEN")
    os.environ["MLFLOW_TRACKING_TOKEN"] = server.token
    try:
        mlflow.set_tracking_uri(server.host)
        mlflow.set_registry_uri(server.host)
        mlflow.set_experiment(experiment)
        with mlflow.start_run():
            return mlflow.transformers.log_model(
                tiny_chat_pipeline(), name="model", task="llm/v1/chat",
                registered_model_name=full_name,
                pip_requirements=["mlflow", "torch", "transformers"])
    finally:
        mlflow.set_tracking_uri(None)
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        else:
            os.environ["MLFLOW_TRACKING_TOKEN"] = previous


def log_broken_chat_model(server: ServerProcess, full_name: str) -> None:
    """Log a tiny chat model, let the server measure it, then corrupt its weights on disk.

    This is the real way a deploy fails after sizing succeeded: the artifacts changed (a
    truncated upload, a deleted file) between calibration and loading.
    """
    info = log_tiny_chat_model(server, full_name, "pt-widgets-broken")
    assert optimization_info(server, full_name)["optimizable"] is True
    model_id = info.model_uri.split("/")[-1]
    weights = list((server.data_dir / "mlartifacts").glob(
        f"*/models/{model_id}/artifacts/model/model.safetensors"))
    assert len(weights) == 1, weights
    weights[0].write_bytes(b"not a safetensors file")


def seed_models(data_dir: Path, catalog: str, schema: str, n: int) -> None:
    """Bulk-insert registry rows straight into the server's MLflow store (set-up only)."""
    import sqlite3

    now = int(time.time() * 1000)
    conn = sqlite3.connect(data_dir / "mlflow.db")
    with conn:
        conn.executemany(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, description,"
            " workspace) VALUES (?, ?, ?, ?, 'default')",
            [(f"{catalog}.{schema}.model_{i:05d}", now, now, "") for i in range(n)],
        )
    conn.close()


def ask_once(ws, endpoint: str, max_tokens: int) -> tuple[int, int]:
    """One real chat, not retried: (HTTP status, tokens charged: prompt + generated)."""
    from pt_widgets.errors import ApiError
    from pt_widgets.transport import NO_RETRY

    try:
        r = ws.chat(endpoint, "Say hi.", max_tokens=max_tokens, temperature=0, retry=NO_RETRY)
    except ApiError as exc:
        assert exc.status == 429, exc
        return 429, 0
    return 200, int(r.usage.prompt_tokens) + int(r.usage.completion_tokens)


def burst_until_429(ws, endpoint: str, chunk: float) -> list[tuple[int, int]]:
    """Bursts of 8 concurrent asks of 2 chunks each (more than a one-chunk bucket holds)
    until one is refused; every answer's ``(status, tokens)``."""
    import concurrent.futures

    answers: list[tuple[int, int]] = []

    def burst() -> bool:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers.extend(pool.map(lambda _: ask_once(ws, endpoint, int(2 * chunk)), range(8)))
        return any(status == 429 for status, _ in answers)

    wait_until(burst, 120, interval=0, what="a 429 above the provisioned rate")
    return answers


def deploy_one_chunk(ws, name: str, model: str = "system.ai.smollm2_135m_instruct") -> float:
    """A chat endpoint provisioned for exactly one chunk (idempotent); returns the chunk."""
    chunk = ws.sizing_plan(model, 1).chunk_size
    ws.deploy(name, model, 1, {"max_throughput": chunk, "min_throughput": chunk}, timeout=600)
    return float(chunk)


def token_cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess:
    """``pt-widgets local token ...`` on the server's data dir, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "pt_widgets.local", "token", *args,
                           "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, env=server_env(), timeout=120)


def new_token(server: ServerProcess, user: str, comment: str = "") -> str:
    done = token_cli(server, "create", "--user", user, "--comment", comment)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
