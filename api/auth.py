"""Bearer tokens, roles and per-token rate limits on the routes (DESIGN §8).

``require(*roles)`` is a route dependency: it authenticates the bearer token (401
``unauthenticated``), checks the role (403 ``forbidden``) and spends one request of the
token's budget (429 ``rate-limited`` with ``Retry-After``). The token's id — never the
token — is kept on the request for the access log.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from ledger.errors import Forbidden, RateLimited, Unauthenticated
from ledger.settings import Settings
from ledger.tokens import Token, TokenStore


class RateLimiter:
    """A token bucket per API token, in this process.

    ``clock`` gives seconds on a monotonic scale; tests pass their own, so that a rate is
    tested without waiting for it."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def spend(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
                self._buckets[key] = (tokens, now)
                raise RateLimited(
                    f"token {key} sent more than {self.rate:g} requests per second (burst "
                    f"{self.burst}); retry after {retry_after} s",
                    retry_after=retry_after,
                )
            self._buckets[key] = (tokens - 1.0, now)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return secret.strip()


def require(*roles: str) -> Callable[[Request], Token]:
    """A dependency admitting tokens of ``roles`` only."""
    allowed = ", ".join(roles)

    def dependency(request: Request) -> Token:
        store: TokenStore = request.app.state.tokens
        token = store.authenticate(bearer(request))
        request.state.token_id = token.token_id
        if token.role not in roles:
            raise Forbidden(
                f"token {token.token_id} has role {token.role}; {request.method} "
                f"{request.url.path} needs {allowed}"
            )
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.spend(token.token_id)
        return token

    return dependency


def make_rate_limiter(settings: Settings) -> RateLimiter:
    return RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)


WRITERS = ("writer", "root-writer")
Writer = Annotated[Token, Depends(require(*WRITERS))]
Reader = Annotated[Token, Depends(require(*WRITERS, "inspector"))]
Inspector = Annotated[Token, Depends(require("inspector"))]
Admin = Annotated[Token, Depends(require("admin"))]
