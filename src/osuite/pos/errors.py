"""What the POS answers when it will not do what was asked: each error says what is wrong and what
to do, in words for the cashier; the HTTP layer turns them into problem details.

A message is written in English with its values named, ``"No product with the barcode {code}"``, and
marked with :func:`~osuite.core.i18n.N_`: ``template`` and ``params`` let the screen show it in the
cashier's language (``osuite/pos/locale/*/LC_MESSAGES/errors.po``), ``message`` is the English text."""

from __future__ import annotations


class Refusal(Exception):
    """An exception whose words can be shown in any language: ``template`` is the English message with
    named values, ``params`` the values, ``message`` the English text with the values filled in."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = message.format(**params) if params else message
        super().__init__(self.message)


class PosError(Refusal):
    """A refusal; nothing was changed. ``status`` is the HTTP status the API answers with."""

    status = 409
    kind = "refused"


class Invalid(PosError):
    status = 422
    kind = "invalid"


class WrongSupervisorPin(Invalid):
    """A supervisor's PIN that belongs to nobody: the screen asks for it again."""


class NotFound(PosError):
    status = 404
    kind = "not_found"


class NotLoggedIn(PosError):
    status = 401
    kind = "not_logged_in"


class NeedsApproval(PosError):
    """The cashier lacks ``permission``: repeat the request with a supervisor's PIN. ``message`` says what
    needs it (its value ``{permission}`` is filled in)."""

    status = 403
    kind = "needs_approval"

    def __init__(self, permission: str, message: str, /, **params: object) -> None:
        super().__init__(message, permission=permission, **params)
        self.permission = permission


class DeviceFailed(PosError):
    """A device refused or did not answer; the receipt stays as it was, ready to try again. ``code`` is
    the driver's code for the trouble; the message is the device's own words, or the POS's words around
    them."""

    status = 503
    kind = "device"

    def __init__(self, device: str, code: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.device = device
        self.code = code
