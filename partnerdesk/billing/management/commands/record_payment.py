import datetime as dt
import uuid

from django.core.management.base import BaseCommand, CommandError, no_translations

from partnerdesk.billing.services import record_payment
from partnerdesk.customers.models import Customer
from partnerdesk.errors import DomainError


class Command(BaseCommand):
    help = "Record a payment from a customer (applied oldest due first). Exit code 2 on bad input."

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="customer id or tenant id")
        parser.add_argument("--amount", required=True, help="decimal amount, e.g. 1280.00")
        parser.add_argument("--method", required=True, help="bank_transfer, alipay, wechat_pay or other")
        parser.add_argument("--date", default=None, help="received on (YYYY-MM-DD, default today)")
        parser.add_argument("--currency", default="CNY")
        parser.add_argument("--reference", default="")
        parser.add_argument("--idempotency-key", default=None)

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, **o):
        ref = o["customer"]
        try:
            customer = Customer.objects.get(pk=int(ref)) if ref.isdigit() else Customer.objects.get(tenant_id=uuid.UUID(ref))
        except (Customer.DoesNotExist, ValueError):
            raise CommandError(f"--customer: no customer {ref!r}", returncode=2)
        try:
            received_on = dt.date.fromisoformat(o["date"]) if o["date"] else dt.date.today()
        except ValueError:
            raise CommandError(f"--date: {o['date']!r} is not a date (YYYY-MM-DD)", returncode=2)
        try:
            result = record_payment(customer=customer, amount=o["amount"], received_on=received_on, method=o["method"],
                                    reference=o["reference"], currency=o["currency"],
                                    idempotency_key=o["idempotency_key"], actor=None)
        except DomainError as exc:
            raise CommandError(f"--{(exc.field or 'input').replace('_', '-')}: {exc.message}", returncode=2)
        p = result.payment
        verb = "recorded" if result.created else "already recorded (same idempotency key)"
        self.stdout.write(self.style.SUCCESS(
            f"Payment #{p.pk} {verb}: {p.currency} {p.amount}, allocated {p.allocated_amount}, unallocated {p.unallocated}."))
