"""Errors the local forum answers with, in Discourse's JSON shape."""
from __future__ import annotations

NOT_PERMITTED = "You are not permitted to view the requested resource."
NOT_FOUND = "The requested URL or resource could not be found."


class ApiError(Exception):
    """An HTTP error answered as ``{"errors": [...], "error_type": ...}`` like Discourse."""

    def __init__(self, status: int, errors: list[str] | str, error_type: str | None = None,
                 extras: dict | None = None, headers: dict | None = None):
        self.status = status
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        self.error_type = error_type
        self.extras = extras
        self.headers = headers or {}
        super().__init__("; ".join(self.errors))

    def body(self) -> dict:
        body: dict = {"errors": self.errors}
        if self.error_type:
            body["error_type"] = self.error_type
        if self.extras is not None:
            body["extras"] = self.extras
        return body


def forbidden() -> ApiError:
    return ApiError(403, NOT_PERMITTED, "invalid_access")


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND, "not_found")


def invalid(errors: list[str] | str) -> ApiError:
    """Failed validation (422), e.g. "Title is too short (minimum is 15 characters)"."""
    return ApiError(422, errors)


def missing_param(name: str) -> ApiError:
    return ApiError(400, f"param is missing or the value is empty: {name}", "invalid_parameters")
