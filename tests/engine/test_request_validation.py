"""Every bad field is a 400 INVALID_PARAMETER_VALUE whose message names the field and rule."""

from __future__ import annotations

from typing import Any

import pytest

from pt_widgets.local.engine import Replica
from pt_widgets.local.engine.validation import (
    parse_chat,
    parse_completions,
    parse_embeddings,
    resolve_max_tokens,
)
from pt_widgets.local.errors import ApiError

from .helpers import run, user

OK = user("hi")

BAD_CHAT: list[tuple[Any, str]] = [
    ([], "must be a JSON object"),
    ({}, "'messages' is required"),
    ({"messages": "hi"}, "'messages' must be a list"),
    ({"messages": []}, "'messages' must not be empty"),
    ({"messages": ["hi"]}, "'messages[0]' must be a JSON object"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "'messages[0].role' must be one of"),
    ({"messages": [{"content": "x"}]}, "'messages[0].role'"),
    ({"messages": [{"role": "user", "content": 3}]}, "'messages[0].content' must be a string"),
    ({"messages": [{"role": "user"}]}, "'messages[0].content' is required"),
    ({"messages": [{"role": "user", "content": "x", "tool_calls": []}]}, "unknown field"),
    ({"messages": OK, "max_tokens": 0}, "'max_tokens' must be a positive integer, got 0."),
    ({"messages": OK, "max_tokens": 1.5}, "'max_tokens' must be a positive integer"),
    ({"messages": OK, "max_tokens": "5"}, "'max_tokens' must be a positive integer"),
    ({"messages": OK, "max_tokens": True}, "'max_tokens' must be a positive integer"),
    ({"messages": OK, "temperature": 3}, "'temperature' must be a number between 0 and 2, got 3."),
    ({"messages": OK, "temperature": -0.1}, "'temperature' must be a number between 0 and 2"),
    ({"messages": OK, "temperature": "hot"}, "'temperature' must be a number"),
    ({"messages": OK, "top_p": 0}, "'top_p' must be a number greater than 0 and at most 1"),
    ({"messages": OK, "top_p": 1.5}, "'top_p'"),
    ({"messages": OK, "top_k": 0}, "'top_k' must be an integer between 1 and"),
    ({"messages": OK, "top_k": 2**63}, "'top_k' must be an integer between 1 and"),
    ({"messages": OK, "n": 0}, "'n' must be an integer between 1 and 5, got 0."),
    ({"messages": OK, "n": 6}, "'n' must be an integer between 1 and 5"),
    ({"messages": OK, "stop": 5}, "'stop' must be a non-empty string or a list of at most 4"),
    ({"messages": OK, "stop": ["a", "b", "c", "d", "e"]}, "'stop'"),
    ({"messages": OK, "stop": ["a", 1]}, "'stop'"),
    ({"messages": OK, "stop": ""}, "'stop'"),
    ({"messages": OK, "logprobs": 1}, "'logprobs' must be a boolean, got 1."),
    ({"messages": OK, "logprobs": True, "top_logprobs": 21}, "'top_logprobs' must be an integer"),
    ({"messages": OK, "logprobs": True, "top_logprobs": -1}, "'top_logprobs'"),
    ({"messages": OK, "top_logprobs": 2}, "only be set when 'logprobs' is true"),
    ({"messages": OK, "logprobs": False, "top_logprobs": 2}, "only be set when 'logprobs'"),
    ({"messages": OK, "stream": "yes"}, "'stream' must be a boolean"),
    ({"messages": OK, "stream_options": {}}, "unknown field(s): stream_options"),
    ({"messages": OK, "foo": 1, "bar": 2}, "unknown field(s): bar, foo"),
    ({"messages": OK, "prompt": "x"}, "unknown field(s): prompt"),
    ({"messages": OK, "model": 5}, "'model' must be a string"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CHAT)
def test_bad_chat_bodies(body: Any, message: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_chat(body)
    assert err.value.status == 400
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in err.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "'prompt' is required"),
        ({"prompt": ""}, "'prompt' must be a non-empty string"),
        ({"prompt": []}, "'prompt' must be a non-empty string"),
        ({"prompt": ["a", 3]}, "'prompt'"),
        ({"prompt": "x", "messages": OK}, "unknown field(s): messages"),
        ({"prompt": "x", "logprobs": 21}, "'logprobs' must be a boolean or an integer"),
        ({"prompt": "x", "echo": True}, "unknown field(s): echo"),
    ],
)
def test_bad_completion_bodies(body: Any, message: str) -> None:
    with pytest.raises(ApiError, match=None) as err:
        parse_completions(body)
    assert message in err.value.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "'input' is required"),
        ({"input": ""}, "'input' must be a non-empty string"),
        ({"input": []}, "'input' must be a non-empty string"),
        ({"input": ["ok", None]}, "'input'"),
        ({"input": "x", "encoding_format": "int8"}, "'encoding_format' must be 'float' or"),
        ({"input": "x", "dimensions": 8}, "unknown field(s): dimensions"),
    ],
)
def test_bad_embedding_bodies(body: Any, message: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_embeddings(body)
    assert message in err.value.message


def test_good_bodies_parse_with_defaults() -> None:
    req = parse_chat(
        {"messages": OK, "model": "ep", "stop": "END", "temperature": None, "extra_params": {}}
    )
    assert req.n == 1 and not req.stream
    assert req.params.stop == ("END",) and req.params.temperature == 1.0
    assert req.params.max_tokens is None and not req.params.logprobs
    c = parse_completions({"prompt": ["a", "b"], "logprobs": 3})
    assert c.params.logprobs and c.params.top_logprobs == 3
    e = parse_embeddings({"input": "x", "encoding_format": "base64"})
    assert e.inputs == ["x"] and e.encoding_format == "base64"


def test_default_max_tokens_is_clipped_to_room_left() -> None:
    assert resolve_max_tokens(None, 10, 2048) == 256
    assert resolve_max_tokens(None, 2000, 2048) == 48
    assert resolve_max_tokens(48, 2000, 2048) == 48
    with pytest.raises(ApiError, match="2049 tokens"):
        resolve_max_tokens(49, 2000, 2048)
    with pytest.raises(ApiError, match="leaving no room"):
        resolve_max_tokens(None, 2048, 2048)


def test_replica_methods_validate_before_running(smol: Replica) -> None:
    for call in (
        lambda: smol.prompt_tokens({"messages": OK, "temperature": 3}),
        lambda: run(smol.chat({"messages": OK, "temperature": 3})),
        lambda: run(smol.completions({"prompt": "x", "n": 9})),
    ):
        with pytest.raises(ApiError) as err:
            call()
        assert err.value.status == 400

    async def first_chunk() -> None:
        async for _ in smol.chat_stream({"messages": [], "stream": True}):
            break

    with pytest.raises(ApiError, match="'messages' must not be empty"):
        run(first_chunk())
