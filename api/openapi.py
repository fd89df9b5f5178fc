"""OpenAPI additions: each document type's own data schema, as the body of POST /v1/documents.

The endpoint validates ``data`` against the type named in ``type`` (so error paths stay
``data.…``); the published schema is the equivalent one-of over the fifteen types.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import ConfigDict, Field, TypeAdapter, create_model

from templates.types import DOCUMENT_TYPES


def _document_request_schema(envelope_model: type) -> dict[str, Any]:
    variants = [
        create_model(
            f"DocumentCreate{kind.id.value}",
            __config__=ConfigDict(extra="forbid", title=f"{kind.id.value}: {kind.title}"),
            type=(Literal[kind.id.value], ...),  # type: ignore[arg-type]
            case_id=(str | None, None),
            envelope=(envelope_model, ...),
            data=(kind.schema, ...),
        )
        for kind in DOCUMENT_TYPES.values()
    ]
    union = Annotated[Union[tuple(variants)], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    adapter: TypeAdapter[Any] = TypeAdapter(union)  # type: ignore[arg-type]
    return adapter.json_schema(ref_template="#/components/schemas/{model}")


def install(app: FastAPI, envelope_model: type) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        request = _document_request_schema(envelope_model)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(request.pop("$defs", {}))
        body = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"]
        body["schema"] = request
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
