"""The bare reference of ``make bench``: what FastAPI, SQLAlchemy Core and psycopg achieve with nothing else.

``GET /bare/{id}`` runs one indexed SELECT (a credential by primary key) and answers its title as JSON;
``POST /bare`` runs one INSERT into ``bench_bare_event`` and answers its id. ``bench.run`` serves it with the same
uvicorn workers, on the same PostgreSQL database, under the same wrk load as the app, so every scenario's
throughput can be read as a share of it (``share_of_bare`` in bench/results.json): a figure that travels between
machines, where absolute milliseconds do not.

Served as ``uvicorn bench.bare:create_app --factory`` with ``BENCH_BARE_DATABASE_URL`` set.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, bindparam, create_engine, insert, select

metadata = MetaData()
# The app's table, read only: a row found through its primary key index.
credential = Table("credential", metadata, Column("id", Integer, primary_key=True), Column("title", String))
# The bench's own table for the POST, created by bench.run next to the app's tables.
event = Table(
    "bench_bare_event", metadata, Column("id", Integer, primary_key=True), Column("note", String(100), nullable=False)
)
_GET = select(credential.c.title).where(credential.c.id == bindparam("id"))
_POST = insert(event).values(note=bindparam("note")).returning(event.c.id)


def create_engine_for(url: str, pool_size: int = 10) -> Engine:
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size)


def create_app(url: str | None = None) -> FastAPI:
    engine = create_engine_for(url or os.environ["BENCH_BARE_DATABASE_URL"])
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bare/{item_id}")
    def read(item_id: int) -> JSONResponse:
        with engine.connect() as conn:
            title = conn.execute(_GET, {"id": item_id}).scalar()
            conn.commit()
        return JSONResponse({"id": item_id, "title": title})

    @app.post("/bare")
    def write(body: dict[str, Any]) -> JSONResponse:
        with engine.begin() as conn:
            new_id = conn.execute(_POST, {"note": str(body.get("note", ""))[:100]}).scalar_one()
        return JSONResponse({"id": new_id}, status_code=201)

    return app


def create_tables(url: str) -> None:
    engine = create_engine_for(url, pool_size=1)
    event.create(engine, checkfirst=True)
    engine.dispose()
