"""The ledger's errors: one tree, each leaf a problem type of DESIGN §8.

Every error a client can cause carries the problem ``slug``, the HTTP ``status``, a fixed
``title`` and a ``detail`` that says what to fix. ``extra`` holds problem extension members
(the expected head of a stale append, the field of a bad value, ...).

    LedgerError
    ├── ProblemError                      (answered to clients as RFC 9457 problems)
    │   ├── MalformedRequest              400 malformed-request
    │   ├── Unauthenticated               401 unauthenticated
    │   ├── Forbidden                     403 forbidden
    │   ├── NotPermitted                  403 not-permitted
    │   ├── NotFound                      404 not-found
    │   ├── Conflict                      409
    │   │   ├── StaleHead                     stale-head
    │   │   ├── DuplicateEvent                duplicate-event
    │   │   ├── MatterClosed                  matter-closed
    │   │   ├── OfferPending                  offer-pending
    │   │   ├── NotPending                    not-pending
    │   │   └── BatchItemAborted              batch-item-aborted
    │   ├── PayloadTooLarge               413 payload-too-large
    │   ├── UnsupportedMediaType          415 unsupported-media-type
    │   ├── InvalidStatement              422 invalid-statement
    │   │   └── UnknownOfficial               unknown-official
    │   ├── BadSignature                  422 bad-signature
    │   ├── UnknownKey                    422 unknown-key
    │   ├── ActorMismatch                 422 actor-mismatch
    │   ├── KeyNotValid                   422 key-not-valid
    │   ├── ClockSkew                     422 clock-skew
    │   ├── OutOfOrder                    422 out-of-order
    │   └── RateLimited                   429 rate-limited
    ├── IntegrityError                    (the stored log contradicts itself)
    └── ConfigurationError                (settings, data dir or database not usable)
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_PREFIX = "urn:accountability-ledger:problem:"


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class ProblemError(LedgerError):
    """An error answered to a client as an RFC 9457 problem."""

    slug: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document (RFC 9457) for this error."""
        problem: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            problem["instance"] = instance
        problem.update(self.extra)
        return problem


class MalformedRequest(ProblemError):
    """The request is not well-formed JSON (syntax, UTF-8, duplicate names, NaN)."""

    slug, status, title = "malformed-request", 400, "Malformed request"


class Unauthenticated(ProblemError):
    """No valid bearer token was presented."""

    slug, status, title = "unauthenticated", 401, "Unauthenticated"


class Forbidden(ProblemError):
    """The token's role or agency scope does not allow this request."""

    slug, status, title = "forbidden", 403, "Forbidden"


class NotPermitted(ProblemError):
    """The signer may not sign this statement (DESIGN §6 'who may sign')."""

    slug, status, title = "not-permitted", 403, "Signer not permitted"


class NotFound(ProblemError):
    """The requested resource does not exist."""

    slug, status, title = "not-found", 404, "Not found"


class Conflict(ProblemError):
    """The statement conflicts with the current state of its subject."""

    status = 409


class StaleHead(Conflict):
    """The statement's ``seq``/``prev`` is not the subject's current head."""

    slug, title = "stale-head", "Stale subject head"


class DuplicateEvent(Conflict):
    """The ``event_id`` is already stored with other bytes."""

    slug, title = "duplicate-event", "Duplicate event id"


class MatterClosed(Conflict):
    """The matter is closed; only corrections may follow."""

    slug, title = "matter-closed", "Matter closed"


class OfferPending(Conflict):
    """The matter already has a pending handoff offer."""

    slug, title = "offer-pending", "Handoff offer pending"


class NotPending(Conflict):
    """The offer or consultation replied to is no longer pending."""

    slug, title = "not-pending", "Not pending"


class BatchItemAborted(Conflict):
    """Another item of the same subject in the batch failed, so this one was dropped."""

    slug, title = "batch-item-aborted", "Batch item aborted"


class PayloadTooLarge(ProblemError):
    """The request body is larger than the limit."""

    slug, status, title = "payload-too-large", 413, "Payload too large"


class UnsupportedMediaType(ProblemError):
    """The request body is not ``application/json``."""

    slug, status, title = "unsupported-media-type", 415, "Unsupported media type"


class InvalidStatement(ProblemError):
    """The statement does not fit the schema or its type's rules."""

    slug, status, title = "invalid-statement", 422, "Invalid statement"


class UnknownOfficial(InvalidStatement):
    """An addressee is not a registered official at ``occurred_at``."""

    slug, title = "unknown-official", "Unknown official"


class BadSignature(ProblemError):
    """The signature does not verify over the statement's canonical bytes."""

    slug, status, title = "bad-signature", 422, "Bad signature"


class UnknownKey(ProblemError):
    """The statement's ``key`` is not registered in the trust registry."""

    slug, status, title = "unknown-key", 422, "Unknown key"


class ActorMismatch(ProblemError):
    """The key is registered, but to someone other than ``actor``."""

    slug, status, title = "actor-mismatch", 422, "Key does not belong to actor"


class KeyNotValid(ProblemError):
    """The key was not valid at ``occurred_at`` (not yet valid, retired, compromised)."""

    slug, status, title = "key-not-valid", 422, "Key not valid"


class ClockSkew(ProblemError):
    """``occurred_at`` is too far in the future of ``recorded_at``."""

    slug, status, title = "clock-skew", 422, "Clock skew"


class OutOfOrder(ProblemError):
    """``occurred_at`` is too far before the subject's previous statement."""

    slug, status, title = "out-of-order", 422, "Out of order"


class RateLimited(ProblemError):
    """Too many requests with this token."""

    slug, status, title = "rate-limited", 429, "Rate limited"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


PROBLEM_CLASSES: tuple[type[ProblemError], ...] = (
    MalformedRequest,
    Unauthenticated,
    Forbidden,
    NotPermitted,
    NotFound,
    StaleHead,
    DuplicateEvent,
    MatterClosed,
    OfferPending,
    NotPending,
    BatchItemAborted,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidStatement,
    UnknownOfficial,
    BadSignature,
    UnknownKey,
    ActorMismatch,
    KeyNotValid,
    ClockSkew,
    OutOfOrder,
    RateLimited,
)


class IntegrityError(LedgerError):
    """The stored log contradicts itself (tampering, corruption, or a rule change)."""

    def __init__(self, detail: str, *, index: int | None = None) -> None:
        super().__init__(detail if index is None else f"entry {index}: {detail}")
        self.index = index


class ConfigurationError(LedgerError):
    """Settings, the data dir or the database cannot be used as given."""
