"""What the POS answers when it will not do what was asked: each error says what is wrong and what
to do, in words for the cashier; the HTTP layer turns them into problem details."""

from __future__ import annotations


class PosError(Exception):
    """A refusal; nothing was changed. ``status`` is the HTTP status the API answers with."""

    status = 409
    kind = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(PosError):
    status = 422
    kind = "invalid"


class NotFound(PosError):
    status = 404
    kind = "not_found"


class NotLoggedIn(PosError):
    status = 401
    kind = "not_logged_in"


class NeedsApproval(PosError):
    """The cashier lacks ``permission``: repeat the request with a supervisor's PIN."""

    status = 403
    kind = "needs_approval"

    def __init__(self, permission: str, action: str, message: str = "") -> None:
        super().__init__(
            message or f"{action} needs the permission {permission!r}: ask a supervisor to enter their PIN"
        )
        self.permission = permission


class DeviceFailed(PosError):
    """A device refused or did not answer; the receipt stays as it was, ready to try again."""

    status = 503
    kind = "device"

    def __init__(self, device: str, code: str, message: str) -> None:
        super().__init__(message)
        self.device = device
        self.code = code
