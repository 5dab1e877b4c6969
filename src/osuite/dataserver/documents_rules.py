"""The rules a document must keep to be stored: who may send it, and that its money adds up.

Each check returns the problems it finds as sentences naming the line and the numbers, so that the
person at the terminal (or whoever reads the sender's log) can see what is wrong without a debugger.
No I/O here: these run for every document of every batch and are tested with hypothesis.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from osuite.core.money import MAX_QUANTITY, line_amount
from osuite.dataserver.wire.documents import ReceiptDocument, ReceiptLine, ZReportDocument


def sender_problems(
    *, store_id: str, terminal_id: str, sender_id: str, sender_store_id: str | None, relay: bool
) -> list[str]:
    """A terminal speaks only for itself; a relay (a store data server) for any terminal of its store."""
    problems = []
    if store_id != sender_store_id:
        problems.append(f"store_id {store_id} is not the sender's store {sender_store_id}")
    if not relay and terminal_id != sender_id:
        problems.append(f"terminal_id {terminal_id} is not the sending terminal {sender_id}")
    return problems


def quantity_problem(quantity: Decimal) -> str | None:
    if quantity > MAX_QUANTITY:
        return f"quantity {quantity} is more than {MAX_QUANTITY}"
    if (quantity * 1000) % 1:  # cheaper than as_tuple(), which builds a tuple of every digit
        return f"quantity {quantity} has more than 3 decimal places"
    return None


def line_problems(line: ReceiptLine) -> list[str]:
    wrong_quantity = quantity_problem(line.quantity)
    if wrong_quantity:
        return [f"line {line.line_no}: {wrong_quantity}"]
    problems = []
    expected = line_amount(line.price, line.quantity) - line.discount
    if line.amount != expected:
        problems.append(
            f"line {line.line_no}: amount {line.amount} but price {line.price} × {line.quantity:.3f}"
            f" - discount {line.discount} = {expected}"
        )
    if line.discounts is not None:
        listed = sum(part.amount for part in line.discounts)
        if listed != line.discount:
            problems.append(
                f"line {line.line_no}: its discounts add up to {listed} but its discount is {line.discount}"
            )
    return problems


def receipt_problems(receipt: ReceiptDocument) -> list[str]:
    problems: list[str] = []
    seen: set[int] = set()
    repeated: list[int] = []
    lines_total = lines_discount = 0
    for line in receipt.lines:  # one pass: this runs for every receipt of every batch
        if line.line_no in seen:
            repeated.append(line.line_no)
        seen.add(line.line_no)
        if (
            line.discounts is not None
            or quantity_problem(line.quantity) is not None
            or line.amount != line_amount(line.price, line.quantity) - line.discount
        ):
            problems.extend(line_problems(line))
        lines_total += line.amount
        lines_discount += line.discount
    if repeated:
        problems.insert(0, f"line numbers repeat: {', '.join(map(str, sorted(set(repeated))))}")
    if receipt.total != lines_total:
        problems.append(f"total {receipt.total} but the lines add up to {lines_total}")
    if receipt.discount_total != lines_discount:
        problems.append(
            f"discount_total {receipt.discount_total} but the lines' discounts add up to {lines_discount}"
        )
    paid = sum(p.amount for p in receipt.payments)
    if paid != receipt.total:
        problems.append(f"payments add up to {paid} but total is {receipt.total}")
    if receipt.closed_at < receipt.opened_at:
        problems.append(
            f"closed_at {receipt.closed_at.isoformat()} is before opened_at {receipt.opened_at.isoformat()}"
        )
    if receipt.kind == "sale" and receipt.original_receipt_id is not None:
        problems.append("a sale cannot have an original_receipt_id; only a return refers to a sale")
    return problems


def z_report_problems(report: ZReportDocument) -> list[str]:
    totals = report.totals
    if not totals.by_payment_type:
        return []
    problems = []
    repeated = sorted(
        t for t, times in Counter(p.payment_type for p in totals.by_payment_type).items() if times > 1
    )
    if repeated:
        problems.append(f"payment types repeat in by_payment_type: {', '.join(repeated)}")
    sales = sum(p.sales for p in totals.by_payment_type)
    if sales != totals.sales_sum:
        problems.append(f"by_payment_type sales add up to {sales} but sales_sum is {totals.sales_sum}")
    returns = sum(p.returns for p in totals.by_payment_type)
    if returns != totals.returns_sum:
        problems.append(
            f"by_payment_type returns add up to {returns} but returns_sum is {totals.returns_sum}"
        )
    return problems
