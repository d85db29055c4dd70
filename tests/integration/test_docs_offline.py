"""The API documentation works with no network (issue 14): Swagger UI and ReDoc are served
from the package's own copies, and the pages name no outside address."""

from __future__ import annotations

import re

import pytest

from tests.world import World


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_pages_load_only_assets_the_server_serves(
    world: World, path: str
) -> None:
    page = world.http.get(path)
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text) + re.findall(
        r"url: '([^']+)'", page.text
    )
    assert sources, page.text
    for source in sources:
        assert not source.startswith(("http:", "https:", "//")), f"{path} loads {source}"
        if source.startswith("/static-offline-docs/"):
            asset = world.http.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 1000, source
