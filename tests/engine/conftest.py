"""Session fixtures: each real model is loaded once per test session.

The GGUF conversion is cached in ``$PT_WIDGETS_MODEL_CACHE`` (default
``/tmp/pt_widgets_test_model_cache``, shared with the server tests), so it happens once
per machine, not once per run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402

from pt_widgets.local.engine import ModelSource, Replica, load_replica  # noqa: E402

from .helpers import CACHE_DIR, minilm_path, smol_source  # noqa: E402


@pytest.fixture(scope="session")
def smol_logs() -> list[str]:
    return []


@pytest.fixture(scope="session")
def smol(smol_logs: list[str]) -> Iterator[Replica]:
    replica = load_replica(smol_source(), CACHE_DIR, log=smol_logs.append)
    yield replica
    replica.close()


@pytest.fixture(scope="session")
def smol_torch(smol: Replica) -> Iterator[Replica]:
    """The torch engine on the same GGUF (fp32 de-quantised), whatever ``smol`` runs on."""
    if smol.engine == "torch":
        yield smol
        return
    replica = load_replica(smol_source(), CACHE_DIR, engine="torch")
    yield replica
    replica.close()


@pytest.fixture(scope="session")
def smol_llama(smol: Replica) -> Iterator[Replica]:
    """The llama.cpp engine on the GGUF (skipped only where llama-cpp-python is missing)."""
    from pt_widgets.local.engine.llamacpp import available

    if not available():
        pytest.skip("llama-cpp-python is not installed")
    if smol.engine == "llama.cpp":
        yield smol
        return
    replica = load_replica(smol_source(), CACHE_DIR, engine="llama.cpp")
    yield replica
    replica.close()


@pytest.fixture(params=["torch", "llama.cpp"])
def engine_replica(request: pytest.FixtureRequest) -> Replica:
    """Each engine in turn, for the properties both must hold."""
    name = "smol_torch" if request.param == "torch" else "smol_llama"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def minilm() -> Iterator[Replica]:
    src = ModelSource("sentence_transformers", minilm_path(), "llm/v1/embeddings", display_name="e")
    replica = load_replica(src, CACHE_DIR)
    yield replica
    replica.close()


@pytest.fixture(scope="session")
def mlflow_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny BPE Llama chat model and the MiniLM embedder, logged with MLflow.

    Recipe from ``/work/shared/docs/mlflow.md`` section 2. Returns the two artifact dirs.
    """
    import mlflow
    import sentence_transformers
    from mlflow.models import Model
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, pipeline

    root = tmp_path_factory.mktemp("mlflow")
    texts = ["hello world", "the quick brown fox jumps over the lazy dog", "spark is fast"] * 20
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(texts, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|eos|>", pad_token="<|pad|>"
    )
    tok.chat_template = (
        "{% for m in messages %}<|bos|>{{ m['role'] }}\n{{ m['content'] }}<|eos|>{% endfor %}"
        "{% if add_generation_prompt %}<|bos|>assistant\n{% endif %}"
    )
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.max_new_tokens = 16
    model.generation_config.max_length = None

    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    exp = mlflow.create_experiment("engine-tests", artifact_location=str(root / "artifacts"))
    with mlflow.start_run(experiment_id=exp):
        chat = mlflow.transformers.log_model(
            pipeline("text-generation", model=model, tokenizer=tok),
            name="model",
            task="llm/v1/chat",
            pip_requirements=["mlflow", "torch", "transformers"],
        )
        st = sentence_transformers.SentenceTransformer(minilm_path(), device="cpu")
        emb = Model.log(
            artifact_path=None,
            name="embedder",
            flavor=mlflow.sentence_transformers,
            model=st,
            task="llm/v1/embeddings",
            pip_requirements=["mlflow", "sentence-transformers", "torch"],
        )
    return {
        "chat": mlflow.artifacts.download_artifacts(chat.model_uri),
        "embeddings": mlflow.artifacts.download_artifacts(emb.model_uri),
    }
