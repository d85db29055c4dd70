"""The compose file parses, and every ledgerctl command it runs exists with those options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from cli.main import app

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _with_defaults(text: str) -> str:
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def _ledgerctl_invocations(command: Any) -> list[list[str]]:
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] == ["sh", "-c"]:
        return _ledgerctl_invocations(words[2])
    words = [_with_defaults(w) for w in words]
    found, current = [], None
    for word in words:
        if word == "ledgerctl":
            current = []
            found.append(current)
        elif word in ("||", "&&", ";"):
            current = None
        elif current is not None:
            current.append(word)
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_compose_file_has_postgres_with_a_volume_and_a_health_check(
    compose: dict[str, Any],
) -> None:
    postgres = compose["services"]["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert compose["services"]["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_ledgerctl_command_in_the_compose_file_exists_with_its_options(
    compose: dict[str, Any],
) -> None:
    root: Any = typer.main.get_command(app)  # typer vendors click: duck-type the group
    invocations = [
        args
        for service in compose["services"].values()
        if "command" in service
        for args in _ledgerctl_invocations(service["command"])
    ]
    assert len(invocations) >= 2
    for args in invocations:
        ctx = root.make_context("ledgerctl", [], resilient_parsing=True)
        command = root.get_command(ctx, args[0])
        assert command is not None, f"ledgerctl has no command {args[0]}"
        command.make_context(args[0], list(args[1:]), parent=ctx)  # raises on unknown options


def test_the_image_copies_every_package_the_project_installs() -> None:
    import tomllib

    root = COMPOSE.parent
    include = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    packages = [pattern.rstrip("*") for pattern in include]
    dockerfile = (root / "Dockerfile").read_text()
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
