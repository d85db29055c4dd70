"""PostgreSQL for the benchmark: a database of its own (``bench``, created when absent) and
a fresh schema per measurement, dropped afterwards with its projections' schemas. Nothing
outside the ``bench`` database is touched (tests use ``test`` at the same time)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DATABASE = "bench"


def _with_database(url: str, database: str, query: str = "") -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, query, ""))


def bench_database(base_url: str) -> tuple[str | None, str]:
    """The URL of the ``bench`` database beside ``base_url``'s (created if absent), and the
    server's version; ``(None, why)`` when PostgreSQL does not answer."""
    try:
        with psycopg.connect(base_url, connect_timeout=3, autocommit=True) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    except psycopg.Error as e:
        return None, f"PostgreSQL at {base_url} is unreachable: {str(e).strip()}"
    return _with_database(base_url, DATABASE), version


def fresh_schema(bench_url: str, prefix: str = "bench") -> tuple[str, str]:
    """A new, empty schema in the bench database, and a URL naming it; (url, schema)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return _with_database(bench_url, DATABASE, f"schema={schema}"), schema


def drop_schema(bench_url: str, schema: str) -> None:
    """Drop ``schema`` and the projections' ``<schema>_p_…`` schemas beside it."""
    with psycopg.connect(bench_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE schema_name = %s OR schema_name LIKE %s",
            (schema, schema + "\\_p\\_%"),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
