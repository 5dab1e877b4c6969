"""What the money rules refuse, each with a message a cashier can read and act on.

Every message names the line, the amounts and what would be allowed instead. It is written in English
with its values named and marked with :func:`~osuite.core.i18n.N_`, so the screen can show it in the
cashier's language: the service layer passes ``template`` and ``params`` on (``message``, and
``str(error)``, are the English text).
"""

from __future__ import annotations

from osuite.core.i18n import N_


def _filled(template: str, params: dict[str, object]) -> str:
    return template.format(**params) if params else template


class Phrase:
    """Words that go inside a message, translated with it: what was checked (``"Line {line_no}: the
    price"``), an English template with named values like a message's. As a value it reads as its
    English text; a renderer that knows phrases translates it first."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return _filled(self.template, self.params)

    def __repr__(self) -> str:
        return f"Phrase({str(self)!r})"


class DomainError(Exception):
    """A request the POS's rules refuse; nothing has changed."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = _filled(message, params)
        super().__init__(self.message)


class InvalidInput(DomainError):
    """A quantity, price or discount that cannot be what the caller says (negative, too precise …)."""


class ReturnTooLarge(DomainError):
    """A return asking back more of a line than its sale left to return."""

    def __init__(
        self, *, line_no: int, sold: str, already_returned: str, requested: str, remaining: str
    ) -> None:
        super().__init__(
            N_(
                "Line {line_no}: {sold} sold, {already_returned} already returned, {requested} requested;"
                " at most {remaining} can be returned"
            ),
            line_no=line_no,
            sold=sold,
            already_returned=already_returned,
            requested=requested,
            remaining=remaining,
        )
        self.line_no = line_no


class RefundTooLarge(DomainError):
    """A refund larger than what the original payments can still give back."""


class NotEnoughCash(DomainError):
    """Cash asked out of the drawer that the drawer does not hold."""


class Overpayment(DomainError):
    """A non-cash payment above what is still due: only cash can be more, the rest is change."""
