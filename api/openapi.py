"""The OpenAPI document, told the truth about errors: every 4xx/5xx answer is an RFC 9457
problem (``application/problem+json``), and parameter validation answers 400, not FastAPI's
default 422 ``HTTPValidationError`` shape (which this API never sends). It declares the bearer
scheme, and each operation behind a token requires it, so Swagger's "Authorize" works."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ProblemOut

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
BEARER = "bearerToken"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "a token issued by an admin (DESIGN §8 Access): writer, inspector or admin",
}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = (
            BEARER_SCHEME
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ProblemOut"] = ProblemOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses: dict[str, Any] = operation.get("responses", {})
                # 401 is answered by the bearer check alone (``api.auth.require``): an
                # operation that declares it is behind a token (a witness's cosignature is
                # not: it is signed, and declares no 401).
                if "401" in responses:
                    operation["security"] = [{BEARER: []}]
                default_422 = responses.get("422", {})
                refs = str(default_422)
                if "HTTPValidationError" in refs:
                    del responses["422"]
                    responses.setdefault("400", {"description": "Malformed request"})
                for status, response in responses.items():
                    if status.isdigit() and int(status) >= 400:
                        responses[status] = _problem_response(
                            response.get("description", "Problem")
                        )
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
