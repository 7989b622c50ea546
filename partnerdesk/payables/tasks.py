"""Background work of payables: warning finance before an operator invoice's due date is missed.

`warn_due_dates(as_of)` emails each finance user (role finance, active, with an email address) about every
operator invoice not paid in full whose due date is at most warn_days_before_due days away (calendar days), from
then until its pay-by date (the next working day when banks are closed on the due date). One warning per invoice
and due date: the DueDateWarning row (unique on invoice + due date) is the claim, taken in the same transaction
as the emails, which also carry a dedupe key per user, so a rerun, or two workers at once, sends nothing twice.
A due date that finance moves is a new due date, warned about again. While no finance user has an address the
warning is not taken, so it goes out once one has.

`partnerdesk payables warn --schedule 86400` has the worker run it every day (the task enqueues its own next
run, as the desk's timers do).
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from partnerdesk.accounts.models import Role
from partnerdesk.audit.services import record
from partnerdesk.notifications.services import queue_email
from partnerdesk.repeating import schedule_next

from . import standing
from .models import DueDateWarning, OperatorInvoice, OperatorInvoiceStatus
from .services import finance_settings

TEMPLATE_KEY = "payables.due_warning"
STAFF_LANGUAGE = "zh-CN"  # staff emails, as the desk's SLA alerts (support.alerts)
# The longest a pay-by date can fall after its due date (Spring Festival, National Day and a weekend): invoices
# due longer ago than this are late, not waiting for a warning.
LONGEST_BANK_HOLIDAY = dt.timedelta(days=14)


def finance_recipients() -> list:
    """The finance users a warning goes to: active, with an email address."""
    users = get_user_model().objects.filter(role=Role.FINANCE, is_active=True).exclude(email="").order_by("pk")
    return list(users)


def warn_due_dates(*, as_of: dt.date | None = None) -> dict:
    """Warn finance of the operator invoices falling due soon (each once per due date). Counts per outcome."""
    as_of = as_of or timezone.localdate()
    days = finance_settings().warn_days_before_due
    counts = {"warned": 0, "emails": 0, "already_warned": 0, "no_recipients": 0}
    candidates = (OperatorInvoice.objects.exclude(status=OperatorInvoiceStatus.PAID)
                  .filter(due_date__lte=as_of + dt.timedelta(days=days),
                          due_date__gte=as_of - LONGEST_BANK_HOLIDAY, billing_date__lte=as_of)
                  .order_by("due_date", "pk"))
    recipients = finance_recipients()
    for position in standing.positions(candidates, as_of):
        if position.outstanding <= 0 or position.late:
            continue
        if DueDateWarning.objects.filter(operator_invoice=position.invoice, due_date=position.due_date).exists():
            counts["already_warned"] += 1
            continue
        if not recipients:
            counts["no_recipients"] += 1
            continue
        sent = _warn_once(position, recipients)
        if sent:
            counts["warned"] += 1
            counts["emails"] += sent
        else:
            counts["already_warned"] += 1
    return counts


def _warn_once(position: standing.Position, recipients: list) -> int:
    """Take the warning of this invoice and due date and queue its emails; 0 if another run took it first."""
    invoice = position.invoice
    try:
        with transaction.atomic():
            DueDateWarning.objects.create(operator_invoice=invoice, due_date=position.due_date)
            context = _context(position)
            for user in recipients:
                queue_email(customer=None, to=user.email, language=STAFF_LANGUAGE, template_key=TEMPLATE_KEY,
                            context=context,
                            dedupe_key=f"payables-due-{invoice.pk}-{position.due_date.isoformat()}-{user.pk}")
            record(actor=None, action="operator_invoice.warning_sent", obj=invoice,
                   after={"due_date": position.due_date, "pay_by": position.pay_by, "outstanding": position.outstanding,
                          "to": [user.email for user in recipients]})
    except IntegrityError:
        return 0
    return len(recipients)


def _context(position: standing.Position) -> dict:
    invoice = position.invoice
    rate = standing.current_rate()
    site = ((getattr(settings, "NOTIFICATIONS", {}) or {}).get("SITE_URL") or "").rstrip("/")
    return {
        "operator_invoice_number": invoice.number,
        "amount_due": str(position.outstanding),
        "currency": invoice.currency,
        "due_date": position.due_date.isoformat(),
        "payment_due_date": position.pay_by.isoformat(),
        "days_left": position.days_left,
        # What the first month late would cost (the rate x the invoice amount).
        "amount_late_charge": str(standing.late_charge_for(invoice.amount, rate, 1)),
        "payables_url": site + reverse("payables_invoice", args=[invoice.pk]),
    }


# --- the worker ----------------------------------------------------------------------------------------------


@task()
def warn_task(every_seconds: int = 0) -> dict:
    """Warn finance of the due dates near; with every_seconds, run again that much later (one run waits)."""
    try:
        return warn_due_dates()
    finally:
        if every_seconds > 0:
            schedule_warnings(every_seconds)


def schedule_warnings(every_seconds: int) -> bool:
    """Enqueue the next warnings pass in `every_seconds` unless one already waits (False if not enqueued)."""
    return schedule_next(warn_task, every_seconds)
