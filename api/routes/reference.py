"""/healthz and reference data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import DatabaseDep, PrincipalDep
from api.schemas import MunicipalityPublic
from tiltas.municipalities import all_municipalities

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(database: DatabaseDep) -> JSONResponse:
    """200 once the database answers; 503 otherwise."""
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return JSONResponse(
            {"status": "unavailable", "database": type(error).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok"})


@router.get("/v1/municipalities", response_model=list[MunicipalityPublic], tags=["reference"])
def list_municipalities(principal: PrincipalDep) -> list[dict[str, Any]]:
    return [vars(m) for m in all_municipalities().values()]
