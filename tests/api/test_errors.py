"""Error bodies of every shape Databricks sends become one typed, one-sentence exception."""

from __future__ import annotations

import pytest

from pt_widgets.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    Unavailable,
    api_error_from_response,
    parse_error_body,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Gone."}',
         ("RESOURCE_DOES_NOT_EXIST", "Gone.")),
        ('{"error": "old style"}', (None, "old style")),
        ('{"detail": "no such user", "status": "404", "scimType": "invalidValue"}',
         ("SCIM_404", "invalidValue no such user")),
        ("INVALID_STATE: cluster is gone", ("INVALID_STATE", "cluster is gone")),
        ("<html><title>Bad Gateway</title></html>", (None, "Bad Gateway")),
        ("<html><body><pre>boom\n here</pre></body></html>", (None, "boom here")),
        ("", (None, "Service Unavailable")),
    ],
)
def test_parse_error_body_handles_every_known_shape(text, expected):
    assert parse_error_body(text, "Service Unavailable") == expected


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, '{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"}', BadRequest),
        (401, '{"error_code": "UNAUTHENTICATED", "message": "Missing token."}',
         AuthenticationError),
        (403, '{"error_code": "403", "message": "Invalid access token."}', AuthenticationError),
        (403, '{"error_code": "PERMISSION_DENIED", "message": "No CAN_MANAGE."}',
         PermissionDenied),
        (404, '{"error_code": "CATALOG_DOES_NOT_EXIST", "message": "nope"}', NotFound),
        (409, '{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "dup"}', Conflict),
        (429, '{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}', RateLimited),
        (503, '{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "scaling"}', Unavailable),
        (500, "", ServerError),
    ],
)
def test_status_and_code_choose_the_exception_class(status, body, cls):
    err = api_error_from_response(status, body, reason="Internal Server Error")
    assert type(err) is cls
    assert err.status == status


def test_message_is_one_sentence_with_code_and_status():
    err = api_error_from_response(
        404, '{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Endpoint x does not exist."}')
    assert str(err) == "Endpoint x does not exist (RESOURCE_DOES_NOT_EXIST, HTTP 404)."
    assert err.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert err.server_message == "Endpoint x does not exist."


def test_bad_token_sentence_names_the_host_and_what_to_check():
    err = api_error_from_response(403, '{"error_code":"403","message":"Invalid access token."}',
                                  host="https://dbc-1.cloud.databricks.com")
    text = str(err)
    assert text.startswith("The workspace at https://dbc-1.cloud.databricks.com rejected")
    assert "DATABRICKS_TOKEN" in text
    assert text.count(". ") == 0  # one sentence


def test_rate_limit_carries_retry_after_seconds():
    err = api_error_from_response(
        429, '{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "over"}', {"Retry-After": "3"})
    assert isinstance(err, RateLimited)
    assert err.retry_after == 3.0
    assert "retry after 3 s" in str(err)


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
