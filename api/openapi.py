"""The OpenAPI document, told the truth about errors: every 4xx/5xx answer is an RFC 9457
problem (``application/problem+json``), and parameter validation answers 400, not FastAPI's
default 422 ``HTTPValidationError`` shape (which this API never sends). It declares the bearer
scheme, and each operation behind a token requires it, so Swagger's "Authorize" works."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.auth import require
from api.schemas import ProblemOut

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
BEARER = "bearerToken"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "a token issued by an admin (DESIGN §8 Access): writer, inspector or admin",
}
# Every token check is a closure made by ``require``: an operation behind one needs a token.
_TOKEN_CHECK = f"{require.__qualname__}.<locals>."


def _needs_token(dependant: Dependant) -> bool:
    return any(
        getattr(d.call, "__qualname__", "").startswith(_TOKEN_CHECK) or _needs_token(d)
        for d in dependant.dependencies
    )


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
        for route in app.routes:
            if isinstance(route, APIRoute) and _needs_token(route.dependant):
                for method in route.methods or ():
                    operation = schema["paths"][route.path_format].get(method.lower())
                    if operation is not None:
                        operation["security"] = [{BEARER: []}]
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ProblemOut"] = ProblemOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses: dict[str, Any] = operation.get("responses", {})
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
