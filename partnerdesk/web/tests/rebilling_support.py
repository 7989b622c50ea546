"""What the re-billing page tests share: a license-based reconciliation file written as the operator writes it
(byte-order mark, CRLF, quoted commas), and the upload form's data for it."""

import csv
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from partnerdesk.rebilling.recon_format import LICENSE_COLUMNS


def license_row(customer=None, *, subscription_ref="", offer="Microsoft 365 E3", quantity="10", unit_price="38.00",
                charge_type="Cycle fee", tax_rate=Decimal("0.06"), customer_name=None, domain=None, **overrides):
    """One row of a license-based file as the operator writes it (Amount = UnitPrice x Quantity, 6% tax)."""
    amount = (Decimal(unit_price) * Decimal(quantity)).quantize(Decimal("0.01"))
    tax = (amount * tax_rate).quantize(Decimal("0.01"))
    row = dict.fromkeys(LICENSE_COLUMNS, "")
    row.update({
        "PartnerId": "d6e4b0a2-7f3c-4f8e-9b1a-000000000001",
        "CustomerID": str(customer.tenant_id) if customer else "9b2f6c1e-0000-4000-8000-00000000abcd",
        "OrderID": "ORD-1", "SubscriptionID": f"BILL-{subscription_ref or 'X'}",
        "SyndicationPartnerSubscriptionNumber": subscription_ref, "OfferID": "CFQ7TTC0LF8Q",
        "DurableOfferID": "CFQ7TTC0LF8Q", "OfferName": offer,
        "SubscriptionStartDate": "2026-01-01", "SubscriptionEndDate": "2026-12-31",
        "ChargeStartDate": "2026-10-01", "ChargeEndDate": "2026-10-31", "ChargeType": charge_type,
        "UnitPrice": unit_price, "Quantity": quantity, "Amount": f"{amount}", "TotalOtherDiscount": "0.00",
        "Subtotal": f"{amount}", "Tax": f"{tax}", "TotalForCustomer": f"{amount + tax}", "Currency": "CNY",
        "CustomerName": customer_name if customer_name is not None else (customer.name if customer else "未知 公司"),
        "MPNID": "1234567", "ResellerMPNID": "",
        "DomainName": domain if domain is not None else (customer.primary_domain if customer else "unknown.example.cn"),
        "SubscriptionName": offer, "SubscriptionDescription": offer,
    })
    row.update(overrides)
    return row


def license_file(rows: list[dict], *, bom=True) -> bytes:
    """A license-based reconciliation file (UTF-8 with a byte-order mark, CRLF, quoted where needed)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LICENSE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def file_total(rows) -> str:
    return str(sum(Decimal(r["TotalForCustomer"]) for r in rows))


def upload_data(content: bytes, rows, *, name="recon-2026-10.csv", number="G0010000123", total=None) -> dict:
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv"), "number": number,
            "billing_date": "2026-11-08", "period_start": "2026-10-01", "period_end": "2026-10-31",
            "total": total or file_total(rows)}
