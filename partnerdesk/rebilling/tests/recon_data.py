"""The committed small pair of reconciliation files (data/, written by rebilling.generator with seed 2026) and
the world they describe, for any test that imports them.

    customers = create_world()            # the customers and subscriptions PartnerDesk knows
    import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None)

Of its 8 customers, 深圳市前海数联科技有限公司 is not a PartnerDesk customer (its lines stay unmatched), Fabrikam
Trading appears in the files under another tenant id with its domain in capitals (matched by domain), and one
license and the Azure subscription of 杭州西溪智能制造有限公司 are unknown (matched by customer id only).
To write the pair again: `python scripts/generate_recon_files.py --customers 8 --license-rows 40 --usage-rows 60
--period 2026-10 --seed 2026 partnerdesk/rebilling/tests/data`.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

from partnerdesk.customers.models import Subscription
from partnerdesk.payables.services import OperatorInvoiceInput
from partnerdesk.rebilling.generator import Manifest

DATA = Path(__file__).resolve().parent / "data"
LICENSE_FILE = DATA / "license.csv"
USAGE_FILE = DATA / "usage.csv"
FILES = {"license": LICENSE_FILE, "usage": USAGE_FILE}


def manifest() -> Manifest:
    return Manifest.load(DATA / "manifest.json")


def operator_invoice_input(kind: str, **changes) -> OperatorInvoiceInput:
    """The operator invoice the committed file of this kind adds up to (`changes` alter its figures)."""
    summary = manifest().invoice(kind)
    figures = {"number": summary.number, "billing_date": dt.date.fromisoformat(summary.billing_date),
               "period_start": dt.date.fromisoformat(summary.period_start),
               "period_end": dt.date.fromisoformat(summary.period_end), "amount": Decimal(summary.total)}
    return OperatorInvoiceInput(**{**figures, **changes})


def create_world(world: Manifest | None = None) -> dict:
    """Create the customers (and their subscriptions) of the world that PartnerDesk knows; tenant id -> Customer."""
    from partnerdesk.conftest import make_customer

    created = {}
    for entry in (world or manifest()).customers:
        if not entry.known:
            continue
        customer = make_customer(entry.name, tenant_id=entry.tenant_id, primary_domain=entry.domain,
                                 language=entry.language)
        for sub in entry.subscriptions:
            if sub.known:
                Subscription.objects.create(customer=customer, operator_id=sub.operator_id, offer_id=sub.offer_id,
                                            offer_name=sub.offer_name, quantity=sub.quantity,
                                            unit_price=Decimal(sub.unit_price), billing_type=sub.billing_type)
        created[entry.tenant_id] = customer
    return created
