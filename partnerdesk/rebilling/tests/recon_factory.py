"""Small factories for re-billing tests: an operator invoice, a reconciliation file and its lines, written
directly (the importer has its own tests; these let matching, pricing and drafts be tested line by line)."""

import datetime as dt
import itertools
import uuid
from decimal import Decimal

from partnerdesk.customers.models import Subscription
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling.models import FileKind, ReconFile, ReconLine

PERIOD = dt.date(2026, 11, 1)
_rows = itertools.count(2)


def operator_invoice(period=PERIOD, *, number=None, amount="0.00"):
    end = (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return OperatorInvoice.objects.create(
        number=number or f"G{uuid.uuid4().hex[:10].upper()}", billing_date=end + dt.timedelta(days=8),
        period_start=period, period_end=end, amount=Decimal(amount), due_date=end + dt.timedelta(days=38))


def recon_file(kind=FileKind.LICENSE, *, period=PERIOD, invoice=None):
    invoice = invoice or operator_invoice(period)
    return ReconFile.objects.create(operator_invoice=invoice, kind=kind, filename=f"{kind}-{invoice.number}.csv",
                                    sha256=uuid.uuid4().hex + uuid.uuid4().hex)


def line(file, *, charges="100.00", quantity="1", unit_price=None, tax_rate="0.06", **fields):
    """One reconciliation line; tax at tax_rate of the charges, total = charges + tax, as the operator writes them."""
    charges = Decimal(charges)
    tax = Decimal(fields.pop("tax", (charges * Decimal(tax_rate)).quantize(Decimal("0.01"))))
    start = fields.pop("charge_start", file.operator_invoice.period_start)
    return ReconLine.objects.create(
        file=file, row_number=next(_rows), kind=file.kind, charge_start=start,
        charge_end=fields.pop("charge_end", file.operator_invoice.period_end),
        quantity=Decimal(quantity), unit_price=Decimal(unit_price if unit_price is not None else charges),
        charges=charges, tax=tax, total=charges + tax, **fields)


def subscription(customer, operator_id=None, **fields):
    fields.setdefault("offer_name", "Microsoft 365 E3")
    return Subscription.objects.create(customer=customer, operator_id=operator_id or uuid.uuid4().hex[:20], **fields)
