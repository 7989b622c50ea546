"""Re-billing end to end on the committed pair of files: import, match, map an unmatched line, price with a markup
for one customer, generate, adjust, issue. Every operator line is either billed once or listed unmatched, so the
sums reconcile to the fen with the operator invoices; the customers receive their invoices with the PDF; a
second generation bills nothing."""

import datetime as dt
import io
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pypdf
import pytest

from partnerdesk.billing.models import Invoice, InvoiceLine, InvoiceStatus
from partnerdesk.conftest import make_customer
from partnerdesk.notifications import services as notifications
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling import drafts, matching, pricing
from partnerdesk.rebilling.importer import import_file
from partnerdesk.rebilling.models import ReconFile, ReconLine
from partnerdesk.rebilling.tests.recon_data import FILES, create_world, manifest, operator_invoice_input

FEN = Decimal("0.01")
PERIOD = dt.date(2026, 10, 1)


def _fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def _pdf_text(message) -> str:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(part.get_content())).pages)


@pytest.mark.django_db
def test_import_match_map_price_generate_adjust_issue(users, smtp_server):
    finance = users["finance"]
    customers = create_world()
    for kind, path in FILES.items():
        result = import_file(path, operator_invoice=operator_invoice_input(kind), actor=finance)
        assert not result.duplicate and result.matched > 0
        # the file adds up to its operator invoice (the importer checks it; here the figures are read back)
        assert result.file.total == OperatorInvoice.objects.get(files=result.file).amount
    files = list(ReconFile.objects.all())
    file_charges = sum((f.charges for f in files), Decimal("0"))
    assert ReconLine.objects.count() == sum(f.row_count for f in files)

    # The customer the partner did not know yet: created, then its biggest unmatched group mapped to it.
    unknown = next(c for c in manifest().customers if not c.known)
    groups = matching.unmatched_groups()
    assert groups and all(g.line_count > 0 for g in groups)
    newcomer = make_customer(unknown.name, language="zh-CN")
    group = next(g for g in groups if g.customer_name == unknown.name)
    mapped = matching.map_key(key_kind=group.key_kind, key=group.key, customer=newcomer, actor=finance,
                              reason="new customer set up")
    assert mapped.matched == group.line_count

    # A 10% markup for one customer; everyone else is billed the operator's price.
    marked = next(c for c in customers.values() if c.language == "zh-TW")
    pricing.set_price_rule(customer=marked, kind="markup", percent="10", actor=finance)

    result = drafts.generate_drafts(PERIOD, actor=finance)
    billed_lines = ReconLine.objects.filter(invoice_line__isnull=False)
    assert result.lines_billed == billed_lines.count() == ReconLine.objects.filter(customer__isnull=False).count()
    assert result.created == drafts.period_drafts(PERIOD).count() == len(
        set(billed_lines.values_list("customer_id", flat=True)))
    assert newcomer.pk in set(drafts.period_drafts(PERIOD).values_list("customer_id", flat=True))

    # Reconciliation to the fen: the operator charges behind the invoice lines plus the unmatched lines are the
    # files' charges; each line billed once, on its own customer's invoice.
    behind, owners = defaultdict(Decimal), defaultdict(set)
    for line_id, customer_id, charges in billed_lines.values_list("invoice_line_id", "customer_id", "charges"):
        behind[line_id] += charges
        owners[line_id].add(customer_id)
    unmatched = sum(ReconLine.objects.filter(customer__isnull=True).values_list("charges", flat=True), Decimal("0"))
    assert sum(behind.values(), Decimal("0")) + unmatched == file_charges
    lines = InvoiceLine.objects.filter(invoice__rebilling__period=PERIOD).select_related("invoice")
    assert {x.pk for x in lines} == set(behind)
    for line in lines:
        assert owners[line.pk] == {line.invoice.customer_id}
        assert line.tax == _fen(line.amount * line.tax_rate) and line.tax_rate == Decimal("0.06")
        if line.invoice.customer_id == marked.pk:
            # the markup on each operator line, rounded per line: within half a fen per line of 110%
            count = line.recon_lines.count()
            assert abs(line.amount - behind[line.pk] * Decimal("1.1")) <= FEN / 2 * count
            assert line.amount != behind[line.pk] or behind[line.pk] == 0
        else:
            assert line.amount == behind[line.pk]  # pass-through: exactly the operator's charges
    for invoice in drafts.period_drafts(PERIOD):
        amounts = list(invoice.lines.values_list("amount", "tax"))
        assert invoice.subtotal == sum(a for a, _ in amounts) and invoice.tax_total == sum(t for _, t in amounts)
        assert invoice.total == invoice.balance == invoice.subtotal + invoice.tax_total

    # Finance adjusts one draft, then issues them all.
    draft = drafts.period_drafts(PERIOD).get(customer=newcomer)
    drafts.add_adjustment(draft, description="首月折扣", amount="-50.00", reason="welcome discount", actor=finance)
    issued = drafts.issue_drafts(drafts.period_drafts(PERIOD), actor=finance, issue_date=dt.date(2026, 11, 10))
    assert len(issued) == result.created and not drafts.period_drafts(PERIOD).exists()
    numbers = sorted(i.number for i in issued)
    assert len(set(numbers)) == len(numbers) and all(n.startswith("INV-2026-") for n in numbers)

    notifications.send_pending()
    assert len(smtp_server.messages) == len(issued)
    by_number = {}
    for message in smtp_server.messages:
        text = _pdf_text(message)
        number = next(n for n in numbers if n in message.subject)
        by_number[number] = text
    assert sorted(by_number) == numbers
    newcomer_invoice = Invoice.objects.get(customer=newcomer)
    assert newcomer.name in by_number[newcomer_invoice.number]
    assert f"{newcomer_invoice.total:,.2f}" in by_number[newcomer_invoice.number]

    # A second generation bills nothing; the unmatched lines stay unbilled, listed for an agent.
    again = drafts.generate_drafts(PERIOD, actor=finance)
    assert (again.created, again.updated, again.lines_billed) == (0, 0, 0)
    assert Invoice.objects.filter(status=InvoiceStatus.DRAFT).count() == 0
    assert sum(g.line_count for g in matching.unmatched_groups()) == ReconLine.objects.filter(
        customer__isnull=True).count() > 0
