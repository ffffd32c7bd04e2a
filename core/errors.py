"""The error vocabulary shared by every layer."""

from __future__ import annotations


class AppError(Exception):
    """A refusal the user can read and act on; nothing was changed."""

    code = "invalid"

    def __init__(self, user_message: str, *, code: str | None = None, detail: dict[str, object] | None = None):
        super().__init__(user_message)
        self.user_message = user_message
        if code is not None:
            self.code = code
        self.detail = detail or {}


class NotFound(AppError):
    code = "not_found"


class InvariantViolation(Exception):
    """Corrupt state: stop the process; the supervisor restarts it and start-up reconciles."""


class VenueError(Exception):
    """Something the exchange said or failed to say."""

    def __init__(self, reason: str, *, code: int | None = None):
        super().__init__(f"{code}: {reason}" if code is not None else reason)
        self.reason = reason
        self.code = code


class VenueRejected(VenueError):
    """Final: the exchange refused the request and changed nothing."""


class VenueUnavailable(VenueError):
    """The request did not reach the matching engine (connection refused, rate limited).

    Reads may be retried with backoff; writes are never blindly retried.
    """

    def __init__(self, reason: str, *, code: int | None = None, retry_after_s: float | None = None):
        super().__init__(reason, code=code)
        self.retry_after_s = retry_after_s


class VenueAmbiguous(VenueError):
    """Outcome unknown (timeout, 5xx, -1007): the order stays in flight until a query proves its state."""
