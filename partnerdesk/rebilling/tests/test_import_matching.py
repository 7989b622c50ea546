"""The importer matches each line as it reads it (matching.LineMatcher) and then hands match_file only the keys it
left unmatched, instead of reading the file's lines again: the lines and the figures must be exactly those of
matching the whole file set-based after the load (match_file without `unmatched`)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerdesk.rebilling import matching
from partnerdesk.rebilling.importer import import_file
from partnerdesk.rebilling.models import MatchMethod, ReconLine

from .recon_data import FILES, create_world, operator_invoice_input

MATCH_FIELDS = ("row_number", "customer_id", "subscription_id", "match_method")


def _rows(kind: str) -> list[list[str]]:
    with open(FILES[kind], encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _upload(rows: list[list[str]], name: str) -> SimpleUploadedFile:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def _matches(recon_file) -> list[tuple]:
    return list(ReconLine.objects.filter(file=recon_file).order_by("row_number").values_list(*MATCH_FIELDS))


def _rematched_set_based(recon_file) -> tuple[list[tuple], matching.MatchSummary]:
    """The file's lines unmatched again and matched the other way: every line read back from the database."""
    ReconLine.objects.filter(file=recon_file).update(customer=None, subscription=None, match_method="")
    summary = matching.match_file(recon_file)
    return _matches(recon_file), summary


def _taught_later() -> list[list[str]]:
    """The license file with row 2 known only by its billing SubscriptionID, which a later row (matched by its
    subscription number) teaches: while reading row 2 the matcher cannot know it yet."""
    rows = _rows("license")
    header = rows[0]
    col = {name: header.index(name) for name in header}
    teacher = next(r for r in rows[3:] if r[col["SubscriptionID"]] != rows[1][col["SubscriptionID"]])
    rows[1][col["SubscriptionID"]] = teacher[col["SubscriptionID"]].upper()  # (ids are compared without case)
    for name in ("SyndicationPartnerSubscriptionNumber", "CustomerID", "DomainName"):
        rows[1][col[name]] = ""
    return rows


def test_a_billing_id_taught_by_a_later_row_matches_as_set_based_matching_does(db):
    create_world()
    result = import_file(_upload(_taught_later(), "license-taught.csv"),
                         operator_invoice=operator_invoice_input("license"), actor=None)
    streamed = _matches(result.file)
    row2 = ReconLine.objects.get(file=result.file, row_number=2)
    assert row2.match_method == MatchMethod.BILLING_SUBSCRIPTION and row2.subscription_id is not None
    assert result.rows == 40 and result.matched == 40 - result.unmatched
    assert result.unmatched == ReconLine.objects.filter(file=result.file, customer__isnull=True).count() > 0

    again, summary = _rematched_set_based(result.file)
    assert streamed == again
    assert (summary.matched, summary.unmatched) == (result.matched, result.unmatched)


def test_both_committed_files_match_as_set_based_matching_does(db):
    create_world()
    for kind in ("license", "usage"):
        result = import_file(FILES[kind], operator_invoice=operator_invoice_input(kind), actor=None)
        streamed = _matches(result.file)
        assert result.unmatched == ReconLine.objects.filter(file=result.file, customer__isnull=True).count() > 0
        again, summary = _rematched_set_based(result.file)
        assert streamed == again and (summary.matched, summary.unmatched) == (result.matched, result.unmatched)


def test_lines_never_point_at_a_customer_or_subscription_that_is_gone(db, monkeypatch):
    """ReconLine's customer and subscription have no database foreign key: the importer checks once per customer
    and subscription what the key checked per line. One gone (deleted while the file was read) imports nothing."""
    from partnerdesk.customers.models import Customer, Subscription
    from partnerdesk.errors import Conflict
    from partnerdesk.rebilling.models import ReconFile

    create_world()
    gone = Customer.objects.order_by("-pk").first().pk + 1000
    real = matching._Resolver.by_the_rest

    def stale(self, key):  # the answer of a matcher that read a customer deleted since
        found = real(self, key)
        return (gone, None, found[2]) if found else found

    monkeypatch.setattr(matching._Resolver, "by_the_rest", stale)
    with pytest.raises(Conflict):
        import_file(FILES["usage"], operator_invoice=operator_invoice_input("usage"), actor=None)
    assert not ReconFile.objects.exists() and not ReconLine.objects.exists()

    monkeypatch.setattr(matching._Resolver, "by_the_rest", real)
    with pytest.raises(Conflict):  # and a subscription
        matching.hold_references([], [Subscription.objects.order_by("-pk").first().pk + 1000])
    result = import_file(FILES["usage"], operator_invoice=operator_invoice_input("usage"), actor=None)
    held = set(ReconLine.objects.filter(file=result.file).exclude(customer=None).values_list("customer", flat=True))
    assert held and held <= set(Customer.objects.values_list("pk", flat=True))
