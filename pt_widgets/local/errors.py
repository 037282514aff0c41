"""Errors of the local workspace, in the Databricks wire shape.

Every failure a client can cause becomes an :class:`ApiError`, rendered as
``{"error_code": ..., "message": ...}`` with the HTTP status Databricks uses for that
code, so the official clients (databricks-sdk, mlflow.deployments, openai) map it to
the same typed exceptions they raise against a real workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATUS_BY_CODE: dict[str, int] = {
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "BAD_REQUEST": 400,
    "INVALID_STATE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "CATALOG_DOES_NOT_EXIST": 404,
    "SCHEMA_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "RESOURCE_ALREADY_EXISTS": 409,
    "RESOURCE_CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
}


@dataclass
class ApiError(Exception):
    """A client-visible failure: an error code, one readable sentence, optional headers."""

    error_code: str
    message: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if self.status is None:
            self.status = STATUS_BY_CODE.get(self.error_code, 400)

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def invalid(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE: the message names the field and the rule."""
    return ApiError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str, code: str = "RESOURCE_DOES_NOT_EXIST") -> ApiError:
    return ApiError(code, message)


def conflict(message: str, code: str = "RESOURCE_CONFLICT") -> ApiError:
    return ApiError(code, message)


def rate_limited(message: str, retry_after_s: int) -> ApiError:
    """429 with the integer Retry-After header the SDK and MLflow honour."""
    return ApiError(
        "REQUEST_LIMIT_EXCEEDED", message, headers={"Retry-After": str(max(1, int(retry_after_s)))}
    )


def unavailable(message: str, retry_after_s: int) -> ApiError:
    return ApiError(
        "TEMPORARILY_UNAVAILABLE", message, headers={"Retry-After": str(max(1, int(retry_after_s)))}
    )


def missing_model(full_name: str) -> ApiError:
    return ApiError("RESOURCE_DOES_NOT_EXIST", f"Registered model '{full_name}' does not exist.")


def missing_version(full_name: str, version: object) -> ApiError:
    return ApiError(
        "RESOURCE_DOES_NOT_EXIST", f"Model version '{full_name}' version {version} does not exist."
    )
