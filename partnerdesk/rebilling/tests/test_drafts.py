"""Draft customer invoices from a period's operator lines: one draft per customer and period, every matched line
billed exactly once, adjustments, releasing lines and issuing in bulk."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, InvoiceLine, InvoiceStatus
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.rebilling import drafts
from partnerdesk.rebilling.models import Adjustment, FileKind, FileStatus, PeriodInvoice, ReconLine
from partnerdesk.rebilling.pricing import set_price_rule
from partnerdesk.rebilling.tests import recon_factory as rf

P = rf.PERIOD


def assert_billed_once(period=P):
    """Every matched line of the period's active files is on exactly one invoice line of its own customer, and the
    invoice lines (adjustments aside) add up per customer to what the lines were priced at."""
    lines = drafts.period_lines(period)
    assert not lines.filter(customer__isnull=False, invoice_line__isnull=True).exists()
    assert not lines.filter(customer__isnull=True, invoice_line__isnull=False).exists()
    by_customer = defaultdict(Decimal)
    for customer_id, charges in lines.filter(customer__isnull=False).values_list("customer_id", "charges"):
        by_customer[customer_id] += charges
    billed = defaultdict(Decimal)
    for line in InvoiceLine.objects.filter(invoice__rebilling__period=period, adjustment__isnull=True) \
            .select_related("invoice"):
        assert line.recon_lines.exists(), "an invoice line with no operator line behind it"
        assert {c for c in line.recon_lines.values_list("customer_id", flat=True)} == {line.invoice.customer_id}
        billed[line.invoice.customer_id] += line.amount
    return dict(by_customer), dict(billed)


def assert_totals_consistent(invoice):
    invoice.refresh_from_db()
    amounts = list(invoice.lines.values_list("amount", "tax"))
    assert invoice.subtotal == sum((a for a, _t in amounts), Decimal("0"))
    assert invoice.tax_total == sum((t for _a, t in amounts), Decimal("0"))
    assert invoice.total == invoice.subtotal + invoice.tax_total == invoice.balance + invoice.amount_paid


@pytest.fixture
def period_files(customer_a, customer_b):
    """A license and a usage file of November for two customers, with an unmatched line, a line of another
    period and a line of a replaced file."""
    sub_a = rf.subscription(customer_a, "PC-A-E3", offer_name="Microsoft 365 E3")
    sub_b = rf.subscription(customer_b, "PC-B-BP", offer_name="Microsoft 365 商业高级版")
    lic = rf.recon_file(FileKind.LICENSE)
    usage = rf.recon_file(FileKind.USAGE)
    rows = dict(
        a_new=rf.line(lic, subscription_ref="PC-A-E3", product="CFQ7TTC0LFLX", product_name="Microsoft 365 E3",
                      charge_type="New", quantity="10", unit_price="23.10", charges="231.00"),
        a_prorate=rf.line(lic, subscription_ref="PC-A-E3", product="CFQ7TTC0LFLX", product_name="Microsoft 365 E3",
                          charge_type="prorateFeesWhenPurchase", quantity="2", unit_price="23.10", charges="15.40",
                          charge_start=dt.date(2026, 11, 11)),
        a_cancel=rf.line(lic, subscription_ref="PC-A-E3", product="CFQ7TTC0LFLX", product_name="Microsoft 365 E3",
                         charge_type="Prorate fees when cancel", quantity="-1", unit_price="23.10", charges="-7.70"),
        b_renew=rf.line(lic, subscription_ref="PC-B-BP", product="CFQ7TTC0LDPB", product_name="Microsoft 365 商业高级版",
                        charge_type="Renew", quantity="3", unit_price="132.00", charges="396.00"),
        lost=rf.line(lic, subscription_ref="NOBODY", charges="50.00"),
    )
    usage_rows = []
    for service, meter, charges, day in [("Virtual Machines", "m-vm-1", "12.34", 3), ("Virtual Machines", "m-vm-2",
                                         "0.17", 9), ("Storage", "m-st-1", "3.01", 20)]:
        usage_rows.append(rf.line(usage, customer_ref=str(customer_a.tenant_id), service=service, product=meter,
                                  quantity="1", unit_price=charges, charges=charges,
                                  charge_start=dt.date(2026, 11, day), charge_end=dt.date(2026, 11, day)))
    rows["b_usage"] = rf.line(usage, customer_ref=str(customer_b.tenant_id), service="Storage", product="m-st-1",
                              quantity="2", unit_price="0.50", charges="1.00")
    october = rf.recon_file(FileKind.LICENSE, period=dt.date(2026, 10, 1))
    rows["october"] = rf.line(october, subscription_ref="PC-A-E3", charges="231.00")
    old = rf.recon_file(FileKind.LICENSE)
    rows["replaced"] = rf.line(old, subscription_ref="PC-A-E3", charges="999.00")
    old.status = FileStatus.REPLACED
    old.save()
    from partnerdesk.rebilling.matching import match_file
    for f in (lic, usage, october, old):
        match_file(f)
    return SimpleFiles(rows=rows, usage=usage_rows, lic=lic, usage_file=usage, sub_a=sub_a, sub_b=sub_b)


class SimpleFiles:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_generate_bills_every_matched_line_once(period_files, customer_a, customer_b, users):
    result = drafts.generate_drafts(dt.date(2026, 11, 17), actor=users["finance"])  # any day names its month

    assert (result.created, result.updated, result.lines_billed) == (2, 0, 8)
    assert result.amount == Decimal("231.00") + Decimal("15.40") - Decimal("7.70") + Decimal("396.00") \
        + Decimal("12.34") + Decimal("0.17") + Decimal("3.01") + Decimal("1.00")
    by_customer, billed = assert_billed_once()
    assert by_customer == billed  # pass-through: to the fen
    rows = {k: ReconLine.objects.get(pk=v.pk) for k, v in period_files.rows.items()}
    assert rows["lost"].invoice_line_id is None and rows["october"].invoice_line_id is None
    assert rows["replaced"].invoice_line_id is None

    invoice_a = Invoice.objects.get(customer=customer_a)
    assert invoice_a.status == InvoiceStatus.DRAFT and invoice_a.number is None
    assert PeriodInvoice.objects.get(invoice=invoice_a).period == P
    lines = list(invoice_a.lines.order_by("id"))
    # zh-CN customer: each license line its own clear line; usage summed per service with its period
    assert [(x.description, x.quantity, x.amount, x.tax, x.subscription_id) for x in lines] == [
        ("Microsoft 365 E3 (新购), 2026-11-01 至 2026-11-30", Decimal("10"), Decimal("231.00"), Decimal("13.86"),
         period_files.sub_a.pk),
        ("Microsoft 365 E3 (按比例收费), 2026-11-11 至 2026-11-30", Decimal("2"), Decimal("15.40"), Decimal("0.92"),
         period_files.sub_a.pk),
        ("Microsoft 365 E3 (取消退款), 2026-11-01 至 2026-11-30", Decimal("-1"), Decimal("-7.70"), Decimal("-0.46"),
         period_files.sub_a.pk),
        ("Virtual Machines 用量, 2026-11-03 至 2026-11-09", Decimal("1"), Decimal("12.51"), Decimal("0.75"), None),
        ("Storage 用量, 2026-11-20 至 2026-11-20", Decimal("1"), Decimal("3.01"), Decimal("0.18"), None),
    ]
    assert all(x.tax_rate == Decimal("0.06") for x in lines)  # 0.01 on 0.17 is 6% too
    assert lines[3].recon_lines.count() == 2
    assert_totals_consistent(invoice_a)
    invoice_b = Invoice.objects.get(customer=customer_b)
    assert "Microsoft 365 商业高级版 (renewal), 2026-11-01 to 2026-11-30" in invoice_b.lines.values_list(
        "description", flat=True)  # an English customer reads English
    assert_totals_consistent(invoice_b)

    entries = AuditEntry.objects.filter(action="rebilling.draft_created")
    assert sorted(entries.values_list("customer_id", flat=True)) == sorted([customer_a.pk, customer_b.pk])

    # A second run bills nothing and writes nothing.
    again = drafts.generate_drafts(P, actor=users["finance"])
    assert (again.created, again.updated, again.lines_billed, again.amount) == (0, 0, 0, Decimal("0"))
    assert Invoice.objects.count() == 2 and InvoiceLine.objects.count() == 7
    assert AuditEntry.objects.filter(action__startswith="rebilling.").count() == 2

    # A line matched later joins the customer's draft for the period: never a second draft.
    from partnerdesk.rebilling.matching import map_key

    map_key(key_kind="subscription", key="NOBODY", customer=customer_b, actor=users["finance"])
    later = drafts.generate_drafts(P, actor=users["finance"])
    assert (later.created, later.updated, later.lines_billed) == (0, 1, 1)
    assert Invoice.objects.filter(customer=customer_b).count() == 1
    assert_totals_consistent(invoice_b)
    by_customer, billed = assert_billed_once()
    assert by_customer == billed
    assert AuditEntry.objects.get(action="rebilling.draft_updated").before["total"] == "420.82"  # 396.00 + 23.76 + 1.00 + 0.06


def test_price_rules_apply_per_customer(period_files, customer_a, customer_b, users):
    set_price_rule(customer=customer_a, kind="markup", percent="10", actor=users["finance"])
    set_price_rule(customer=customer_b, product="CFQ7TTC0LDPB", kind="fixed", unit_price="120", actor=users["finance"])
    drafts.generate_drafts(P, actor=users["finance"])
    by_customer, billed = assert_billed_once()
    a = Invoice.objects.get(customer=customer_a)
    assert [x.amount for x in a.lines.order_by("id")] == [
        Decimal("254.10"), Decimal("16.94"), Decimal("-8.47"), Decimal("13.76"), Decimal("3.31")]
    assert billed[customer_a.pk] == Decimal("279.64")
    assert billed[customer_b.pk] == Decimal("360.00") + Decimal("1.00")  # the meter without a rule: pass-through
    assert_totals_consistent(a)


def test_adjustments_release_and_issue(period_files, customer_a, customer_b, users, settings):
    finance = users["finance"]
    drafts.generate_drafts(P, actor=finance)
    a = Invoice.objects.get(customer=customer_a)
    total_before = Invoice.objects.get(pk=a.pk).total

    for bad, field in [({"reason": ""}, "reason"), ({"amount": "1.234"}, "amount"), ({"description": " "}, "description"),
                       ({"amount": "-9999"}, "amount")]:
        with pytest.raises(InvalidInput) as refused:
            drafts.add_adjustment(a, **{"description": "Goodwill", "amount": "-20.00", "reason": "late delivery", **bad},
                                  actor=finance)
        assert refused.value.field == field
    line = drafts.add_adjustment(a, description="Goodwill discount", amount="-20.00", reason="late delivery",
                                 actor=finance)
    assert (line.amount, line.tax_rate, line.tax) == (Decimal("-20.00"), Decimal("0.06"), Decimal("-1.20"))
    assert Adjustment.objects.get(invoice_line=line).created_by == finance
    a.refresh_from_db()
    assert a.total == total_before - Decimal("21.20")
    assert_totals_consistent(a)
    entry = AuditEntry.objects.get(action="rebilling.adjustment_added")
    assert entry.reason == "late delivery" and entry.customer_id == customer_a.pk

    # Releasing the usage lines removes the invoice lines billing them; releasing all of B's deletes its draft.
    removed = drafts.release_lines(ReconLine.objects.filter(file=period_files.usage_file), actor=finance)
    assert removed == 3  # A's two usage lines (per service) and B's one
    assert ReconLine.objects.filter(file=period_files.usage_file, invoice_line__isnull=False).count() == 0
    assert_totals_consistent(a)
    drafts.release_lines(ReconLine.objects.filter(customer=customer_b), actor=finance)
    assert not Invoice.objects.filter(customer=customer_b).exists()
    assert AuditEntry.objects.filter(action="rebilling.draft_deleted", customer=customer_b).count() == 1
    # ...and the next generation bills them again, into A's same draft and a new one for B
    result = drafts.generate_drafts(P, actor=finance)
    assert (result.created, result.updated, result.lines_billed) == (1, 1, 5)
    assert_billed_once()

    issued = drafts.issue_drafts(drafts.period_drafts(P), actor=finance, issue_date=dt.date(2026, 12, 1))
    assert len(issued) == 2 and all(i.number.startswith("INV-2026-") for i in issued)
    assert not drafts.period_drafts(P).exists()
    emails = OutboundEmail.objects.filter(template_key="invoice.issued")
    assert sorted(e.attachments[0]["invoice_id"] for e in emails) == sorted(i.pk for i in issued)
    assert drafts.issue_drafts(issued, actor=finance) == []  # idempotent
    assert OutboundEmail.objects.filter(template_key="invoice.issued").count() == 2

    with pytest.raises(Conflict):
        drafts.add_adjustment(issued[0], description="x", amount="1.00", reason="r", actor=finance)
    with pytest.raises(Conflict) as refused:
        drafts.release_lines(ReconLine.objects.filter(customer=customer_a), actor=finance)
    assert issued[0].number in str(refused.value) or issued[1].number in str(refused.value)

    # After issue, a late line of the period starts a new draft rather than changing the issued invoice.
    rf.line(period_files.lic, subscription_ref="PC-A-E3", charges="23.10", unit_price="23.10", charge_type="New")
    from partnerdesk.rebilling.matching import match_file

    match_file(period_files.lic)
    late = drafts.generate_drafts(P, actor=finance)
    assert (late.created, late.updated, late.lines_billed) == (1, 0, 1)
    assert drafts.period_drafts(P).get().customer == customer_a


def test_customer_ids_limit_and_bad_period(period_files, customer_a, users):
    result = drafts.generate_drafts(P, actor=users["finance"], customer_ids=[customer_a.pk])
    assert result.created == 1 and Invoice.objects.get().customer == customer_a
    with pytest.raises(InvalidInput) as refused:
        drafts.generate_drafts("2026-11", actor=users["finance"])
    assert refused.value.field == "period"
