"""The operator's two reconciliation file layouts (DOMAIN.md "Operator reconciliation files"): their columns, how a
row is read and checked, and what of it becomes a ReconLine.

Every row is checked: dates, numbers, the currency (CNY), and the documented arithmetic
    usage:   OverageQuantity = ConsumedQuantity - IncludedQuantity
             PretaxCharges = ListPrice x OverageQuantity, rounded to the fen (half up)
             PostTaxTotal = PretaxCharges + TaxAmount
    license: Subtotal = Amount - TotalOtherDiscount;  TotalForCustomer = Subtotal + Tax
Money columns carry at most 2 decimal places. A problem names the row (the header is row 1) and the column.

Reading is built for files of millions of rows: the csv module does the splitting, a plain regular expression
checks a number's form, and Decimal (exact, never float) is used only where the arithmetic needs it. The values
handed on to the database are the file's own strings once checked (a date in another form, or a quantity with more
than 6 decimal places, is rewritten).
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput, Refusal

LICENSE_COLUMNS = [
    "PartnerId", "CustomerID", "OrderID", "SubscriptionID", "SyndicationPartnerSubscriptionNumber", "OfferID",
    "DurableOfferID", "OfferName", "SubscriptionStartDate", "SubscriptionEndDate", "ChargeStartDate",
    "ChargeEndDate", "ChargeType", "UnitPrice", "Quantity", "Amount", "TotalOtherDiscount", "Subtotal", "Tax",
    "TotalForCustomer", "Currency", "CustomerName", "MPNID", "ResellerMPNID", "DomainName", "SubscriptionName",
    "SubscriptionDescription",
]
USAGE_COLUMNS = [
    "PartnerID", "PartnerName", "PartnerBillableAccountID", "CustomerName", "MPNID", "ResellerMPNID",
    "InvoiceNumber", "ChargeStartDate", "ChargeEndDate", "SubscriptionID", "SubscriptionName",
    "SubscriptionDescription", "OrderID", "ServiceName", "ServiceType", "ResourceGUID", "ResourceName", "Region",
    "SKU", "DetailLineItemId", "ConsumedQuantity", "IncludedQuantity", "OverageQuantity", "ListPrice",
    "PretaxCharges", "TaxAmount", "PostTaxTotal", "Currency", "PretaxEffectiveRate", "PostTaxEffectiveRate",
    "ChargeType", "CustomerBillableAccount", "UsageDate", "MeteredRegion", "MeteredService", "MeteredServiceType",
    "Project", "ServiceInfo", "CustomerID", "DomainName",
]
LAYOUTS = {"license": LICENSE_COLUMNS, "usage": USAGE_COLUMNS}
# The column whose sum is checked against the operator invoice's amount (credits and offsets included).
TOTAL_COLUMN = {"license": "TotalForCustomer", "usage": "PostTaxTotal"}

# What a row becomes: the ReconLine columns, in this order (file_id first). Lengths are the model's.
LINE_COLUMNS = ["file_id", "row_number", "kind", "customer_ref", "domain", "customer_name", "subscription_ref",
                "billing_subscription_ref", "product", "product_name", "service", "region", "charge_type",
                "charge_start", "charge_end", "usage_date", "quantity", "unit_price", "charges", "tax", "total",
                "match_method"]
LIMITS = {"customer_ref": 64, "domain": 253, "customer_name": 200, "subscription_ref": 64,
          "billing_subscription_ref": 64, "product": 100, "product_name": 200, "service": 100, "region": 60,
          "charge_type": 60}
# Where each stored text comes from, per layout (blank: not in that layout).
SOURCES = {
    "license": {"customer_ref": "CustomerID", "domain": "DomainName", "customer_name": "CustomerName",
                "subscription_ref": "SyndicationPartnerSubscriptionNumber", "billing_subscription_ref": "SubscriptionID",
                "product": "OfferID", "product_name": "OfferName", "service": "", "region": "",
                "charge_type": "ChargeType"},
    "usage": {"customer_ref": "CustomerID", "domain": "DomainName", "customer_name": "CustomerName",
              "subscription_ref": "", "billing_subscription_ref": "SubscriptionID", "product": "ResourceGUID",
              "product_name": "ResourceName", "service": "ServiceName", "region": "Region",
              "charge_type": "ChargeType"},
}
# Ids and domains are stored lower-case (customer_ref, domain, subscription_ref, billing_subscription_ref): matching
# compares them case-insensitively, and lowering them once here keeps its SQL plain.

_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?"
ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})" + _TIME).fullmatch
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME).fullmatch
FEN = Decimal("0.01")
ZERO = Decimal("0.00")
NO_DATE = (None, None)  # an empty, optional date
NO_MATCH = (None, None, "")  # (customer_id, subscription_id, match_method) of a line left unmatched
# Quantities and prices as stored (at most 6 decimal places), as read (more), money (at most 2): the fast path
# checks a row's numbers with one expression; a row it refuses is read cell by cell (RowReader._*_row).
_STORED, _READ, _MONEY = r"-?\d{1,14}(?:\.\d{1,6})?", r"-?\d{1,14}(?:\.\d{1,20})?", r"-?\d{1,16}(?:\.\d{1,2})?"
LICENSE_NUMBERS = re.compile(",".join([_STORED, _STORED, _MONEY, f"(?:{_MONEY})?", _MONEY, _MONEY, _MONEY])).fullmatch
USAGE_NUMBERS = re.compile(",".join([_READ, _READ, _STORED, _STORED, _MONEY, _MONEY, _MONEY, f"(?:{_READ})?",
                                     f"(?:{_READ})?"])).fullmatch
MONEY, NUMBER = re.compile(_MONEY).fullmatch, re.compile(_READ).fullmatch
EXACT = Context(prec=80)  # ListPrice x OverageQuantity and Consumed - Included stay exact
STORED_PLACES = Decimal("0.000001")  # quantities and unit prices are stored to 6 decimal places
DATE_CACHE_LIMIT = 10_000


class ImportProblem(InvalidInput):
    """A reconciliation file that cannot be imported: names the file, the row (the header is row 1) and the column.
    Nothing of the file was imported."""

    def __init__(self, problem: Refusal, *, file: str, row: int | None = None, column: str = ""):
        if row is not None and column:
            template = _("%(file)s, row %(row)s, column %(column)s: %(problem)s")
        elif row is not None:
            template = _("%(file)s, row %(row)s: %(problem)s")
        elif column:
            template = _("%(file)s, column %(column)s: %(problem)s")
        else:
            template = _("%(file)s: %(problem)s")
        super().__init__(template, field="file", file=file, row=row, column=column, problem=problem)
        self.file = file
        self.row = row
        self.column = column
        self.problem = problem

    def as_dict(self) -> dict:
        return {**super().as_dict(), "file": self.file, "row": self.row, "column": self.column}


@dataclass
class Layout:
    """A file's layout as its header gives it: the kind and each column's position."""

    kind: str
    positions: dict[str, int]
    width: int


def read_header(header: list[str], *, filename: str, kind: str | None = None) -> Layout:
    """The layout of a file from its header row (the kind told by the columns, or checked against `kind`)."""
    names = [name.strip().lstrip("\ufeff") for name in header]
    if not any(names):
        raise ImportProblem(Refusal(_("the file is empty: no header row")), file=filename, row=1)
    folded = [name.lower() for name in names]
    for position, name in enumerate(folded):
        if folded.index(name) != position:
            raise ImportProblem(Refusal(_("the column appears twice in the header")), file=filename, row=1,
                                column=names[position])
    found = {}
    for layout_kind, columns in LAYOUTS.items():
        wanted = {column.lower(): column for column in columns}
        missing = [column for column in columns if column.lower() not in folded]
        unknown = [name for name, low in zip(names, folded, strict=True) if low not in wanted]
        found[layout_kind] = (len(missing) + len(unknown), missing, unknown)
    told = min(found, key=lambda k: found[k][0])  # the layout the header is nearest to
    if kind is not None and kind != told and found[told][0] == 0:
        raise ImportProblem(Refusal(_("this is a %(found)s file, not a %(expected)s one"),
                                    found=KIND_WORDS[told], expected=KIND_WORDS[kind]),
                            file=filename, row=1, column=names[0])
    kind = kind or told
    _count, missing, unknown = found[kind]
    if missing:
        raise ImportProblem(Refusal(_("required column missing from the header")), file=filename, row=1,
                            column=missing[0])
    if unknown:
        raise ImportProblem(Refusal(_("not a column of the operator's %(kind)s file"), kind=KIND_WORDS[kind]),
                            file=filename, row=1, column=unknown[0])
    canonical = {column.lower(): column for column in LAYOUTS[kind]}
    return Layout(kind=kind, positions={canonical[low]: i for i, low in enumerate(folded)}, width=len(names))


KIND_WORDS = {"license": _("license-based"), "usage": _("usage-based")}


def problem_at(file: str, row: int, column: str, text, **params) -> ImportProblem:
    """The problem `text` (a lazy translation with named placeholders) at a row and column of a file."""
    return ImportProblem(Refusal(text, **params), file=file, row=row, column=column)


class RowReader:
    """Reads the rows of one file after its header: yields each row as the ReconLine values (LINE_COLUMNS order)
    and keeps the sums. Raises ImportProblem at the first row that is wrong."""

    def __init__(self, layout: Layout, *, filename: str, file_id: int, invoice_number: str = ""):
        self.layout = layout
        self.filename = filename
        self.file_id = file_id
        self.invoice_number = invoice_number
        self.rows = 0
        self.charges = Decimal("0.00")
        self.tax = Decimal("0.00")
        self.total = Decimal("0.00")
        self._dates: dict[str, tuple[dt.date, str]] = {}

    def _short_row(self, row_number: int, record: list[str]) -> ImportProblem:
        by_position = sorted(self.layout.positions, key=self.layout.positions.get)
        if len(record) < self.layout.width:
            return problem_at(self.filename, row_number, by_position[len(record)],
                              _("the row ends before this column (%(count)s of %(expected)s columns)"),
                              count=len(record), expected=self.layout.width)
        return problem_at(self.filename, row_number, by_position[-1],
                          _("the row has %(count)s columns, the header %(expected)s"),
                          count=len(record), expected=self.layout.width)

    # -- single values --------------------------------------------------------------------------------------------
    def date(self, value: str, row_number: int, column: str, *, required: bool = True) -> tuple[dt.date, str] | None:
        """(date, ISO text) of a date cell; dates repeat, so each distinct text is parsed once."""
        known = self._dates.get(value)
        if known is not None:
            return known
        text = value.strip()
        if not text and not required:
            return None
        found = ISO_DATE(text)
        parts = (found.group(1), found.group(2), found.group(3)) if found else None
        if parts is None and (found := US_DATE(text)):
            parts = (found.group(3), found.group(1), found.group(2))
        try:
            day = dt.date(int(parts[0]), int(parts[1]), int(parts[2])) if parts else None
        except ValueError:
            day = None
        if day is None:
            if not text:
                raise problem_at(self.filename, row_number, column, _("a value is required"))
            raise problem_at(self.filename, row_number, column, _("%(value)s is not a date (YYYY-MM-DD)"),
                             value=value[:40])
        if len(self._dates) >= DATE_CACHE_LIMIT:
            self._dates.clear()  # (memory stays flat even if every row had its own date and time)
        self._dates[value] = (day, day.isoformat())
        return self._dates[value]

    def money(self, value: str, row_number: int, column: str) -> Decimal:
        if MONEY(value):
            return Decimal(value)
        text = value.strip()
        if MONEY(text):
            return Decimal(text)
        if not text:
            raise problem_at(self.filename, row_number, column, _("a value is required"))
        if NUMBER(text):
            amount = Decimal(text)
            if amount == amount.quantize(FEN):
                return amount.quantize(FEN)
            raise problem_at(self.filename, row_number, column,
                             _("%(currency)s amounts have at most %(places)s decimal places"), currency="CNY", places=2)
        raise problem_at(self.filename, row_number, column, _("%(value)s is not a number"), value=value[:40])

    def number(self, value: str, row_number: int, column: str) -> str:
        """The text of a quantity or price once checked, as stored (at most 6 decimal places)."""
        if not NUMBER(value):
            text = value.strip()
            if not NUMBER(text):
                if not text:
                    raise problem_at(self.filename, row_number, column, _("a value is required"))
                raise problem_at(self.filename, row_number, column, _("%(value)s is not a number"), value=value[:40])
            value = text
        dot = value.find(".")
        if dot >= 0 and len(value) - dot > 7:
            return str(Decimal(value).quantize(STORED_PLACES, rounding=ROUND_HALF_UP))
        return value

    def _too_long(self, record: list[str], row_number: int) -> ImportProblem:
        positions = self.layout.positions
        for name, source in SOURCES[self.layout.kind].items():
            if source and len(record[positions[source]]) > LIMITS[name]:
                return problem_at(self.filename, row_number, source, _("at most %(count)s characters"),
                                  count=LIMITS[name])
        raise AssertionError("no text is too long")

    def currency(self, value: str, row_number: int) -> None:
        if value != "CNY" and value.strip().upper() != "CNY":
            raise problem_at(self.filename, row_number, "Currency",
                             _("the currency is %(value)s; the operator bills in CNY"), value=value[:10] or "-")

    # -- rows ----------------------------------------------------------------------------------------------------
    # Each layout has a checked reader of one row (every column, the first problem named precisely) and a fast
    # path in the generator for rows in the common form: one regular expression over the row's numbers, cached
    # dates, no function call per cell. A row the fast path doubts goes through the checked reader, which either
    # names the problem or reads the row (a date not seen yet, a quantity with more than 6 decimal places).
    def read(self, records, first_row: int = 2, match=None):
        """Yield the ReconLine values of each record (a csv reader after its header row); blank lines are skipped.

        match: None, or a function (kind, subscription_ref, billing_subscription_ref, customer_ref, domain) ->
        (customer_id, subscription_id, method) or None (matching.LineMatcher.match); the values then end with the
        match instead of a blank match_method: (..., total, method, customer_id, subscription_id)."""
        if self.layout.kind == "license":
            return self._license(records, first_row, match)
        return self._usage(records, first_row, match)

    @staticmethod
    def _with_match(values: tuple, match) -> tuple:
        found = match(values[2], values[6], values[7], values[3], values[4])
        return (*values[:-1], found[2], found[0], found[1]) if found else (*values, None, None)

    def _dates_of(self, record, row_number, start_column, end_column):
        p = self.layout.positions
        start = self.date(record[p[start_column]], row_number, start_column)
        end = self.date(record[p[end_column]], row_number, end_column)
        if end[0] < start[0]:
            raise problem_at(self.filename, row_number, end_column,
                             _("the charge period ends (%(end)s) before it starts (%(start)s)"), end=end[1],
                             start=start[1])
        return start, end

    def _license_row(self, record: list[str], row: int):
        """(ReconLine values, Amount, Tax, TotalForCustomer) of a license-based row, every column checked."""
        p, money, number = self.layout.positions, self.money, self.number
        if record[p["Currency"]] != "CNY":
            self.currency(record[p["Currency"]], row)
        start, end = self._dates_of(record, row, "ChargeStartDate", "ChargeEndDate")
        self.date(record[p["SubscriptionStartDate"]], row, "SubscriptionStartDate", required=False)
        self.date(record[p["SubscriptionEndDate"]], row, "SubscriptionEndDate", required=False)
        unit_price = number(record[p["UnitPrice"]], row, "UnitPrice")
        quantity = number(record[p["Quantity"]], row, "Quantity")
        amount = money(record[p["Amount"]], row, "Amount")
        discount = money(record[p["TotalOtherDiscount"]], row, "TotalOtherDiscount") if record[p["TotalOtherDiscount"]].strip() else ZERO
        subtotal = money(record[p["Subtotal"]], row, "Subtotal")
        tax = money(record[p["Tax"]], row, "Tax")
        total = money(record[p["TotalForCustomer"]], row, "TotalForCustomer")
        if amount - discount != subtotal:
            raise problem_at(self.filename, row, "Subtotal", _("Subtotal %(subtotal)s is not Amount %(amount)s minus "
                                                               "TotalOtherDiscount %(discount)s"),
                             subtotal=subtotal, amount=amount, discount=discount)
        if subtotal + tax != total:
            raise problem_at(self.filename, row, "TotalForCustomer", _("TotalForCustomer %(total)s is not Subtotal "
                                                                       "%(subtotal)s plus Tax %(tax)s"),
                             total=total, subtotal=subtotal, tax=tax)
        texts = [record[p[source]] if source else "" for source in SOURCES["license"].values()]
        if any(len(text) > limit for text, limit in zip(texts, LIMITS.values(), strict=True)):
            raise self._too_long(record, row)
        return (self.file_id, row, "license", texts[0].lower(), texts[1].lower(), texts[2], texts[3].lower(),
                texts[4].lower(), *texts[5:], start[1], end[1], None, quantity, unit_price, str(amount), str(tax),
                str(total), ""), amount, tax, total

    def _usage_row(self, record: list[str], row: int):
        """(ReconLine values, PretaxCharges, TaxAmount, PostTaxTotal) of a usage-based row, every column checked."""
        p, money, number, name = self.layout.positions, self.money, self.number, self.filename
        invoice = record[p["InvoiceNumber"]]
        if invoice != self.invoice_number and invoice.strip() != self.invoice_number:
            raise problem_at(name, row, "InvoiceNumber", _("the invoice number is %(value)s; this file is imported "
                                                           "for operator invoice %(number)s"),
                             value=invoice[:40] or "-", number=self.invoice_number)
        start, end = self._dates_of(record, row, "ChargeStartDate", "ChargeEndDate")
        number(record[p["ConsumedQuantity"]], row, "ConsumedQuantity")
        number(record[p["IncludedQuantity"]], row, "IncludedQuantity")
        quantity = number(record[p["OverageQuantity"]], row, "OverageQuantity")
        unit_price = number(record[p["ListPrice"]], row, "ListPrice")
        pretax = money(record[p["PretaxCharges"]], row, "PretaxCharges")
        tax = money(record[p["TaxAmount"]], row, "TaxAmount")
        total = money(record[p["PostTaxTotal"]], row, "PostTaxTotal")
        if record[p["Currency"]] != "CNY":
            self.currency(record[p["Currency"]], row)
        for column in ("PretaxEffectiveRate", "PostTaxEffectiveRate"):
            if record[p[column]].strip():
                number(record[p[column]], row, column)
        usage = self.date(record[p["UsageDate"]], row, "UsageDate", required=False)
        # the arithmetic on the file's own figures, exactly (not on the stored, rounded ones)
        consumed, included, overage = (Decimal(record[p[c]]) for c in ("ConsumedQuantity", "IncludedQuantity",
                                                                       "OverageQuantity"))
        if EXACT.subtract(consumed, included) != overage:
            raise problem_at(name, row, "OverageQuantity", _("OverageQuantity %(overage)s is not ConsumedQuantity "
                                                             "%(consumed)s minus IncludedQuantity %(included)s"),
                             overage=record[p["OverageQuantity"]], consumed=record[p["ConsumedQuantity"]],
                             included=record[p["IncludedQuantity"]])
        expected = EXACT.multiply(Decimal(record[p["ListPrice"]]), overage).quantize(FEN, rounding=ROUND_HALF_UP,
                                                                                     context=EXACT)
        if expected != pretax:
            raise problem_at(name, row, "PretaxCharges", _("PretaxCharges %(charges)s is not ListPrice %(price)s x "
                                                           "OverageQuantity %(quantity)s rounded to the fen "
                                                           "(%(expected)s)"),
                             charges=pretax, price=record[p["ListPrice"]], quantity=record[p["OverageQuantity"]],
                             expected=expected)
        if pretax + tax != total:
            raise problem_at(name, row, "PostTaxTotal", _("PostTaxTotal %(total)s is not PretaxCharges %(charges)s "
                                                          "plus TaxAmount %(tax)s"),
                             total=total, charges=pretax, tax=tax)
        texts = [record[p[source]] if source else "" for source in SOURCES["usage"].values()]
        if any(len(text) > limit for text, limit in zip(texts, LIMITS.values(), strict=True)):
            raise self._too_long(record, row)
        return (self.file_id, row, "usage", texts[0].lower(), texts[1].lower(), texts[2], texts[3],
                texts[4].lower(), *texts[5:], start[1], end[1], usage[1] if usage else None, quantity, unit_price,
                str(pretax), str(tax), str(total), ""), pretax, tax, total

    def _license(self, records, first_row, match=None):
        p, width, file_id = self.layout.positions, self.layout.width, self.file_id
        i_unit, i_qty, i_amount, i_disc = p["UnitPrice"], p["Quantity"], p["Amount"], p["TotalOtherDiscount"]
        i_sub, i_tax, i_total, i_cur = p["Subtotal"], p["Tax"], p["TotalForCustomer"], p["Currency"]
        i_start, i_end, i_sstart, i_send = (p["ChargeStartDate"], p["ChargeEndDate"], p["SubscriptionStartDate"],
                                            p["SubscriptionEndDate"])
        i_cust, i_domain, i_name, i_pcsub = p["CustomerID"], p["DomainName"], p["CustomerName"], p["SyndicationPartnerSubscriptionNumber"]
        i_bsub, i_offer, i_offer_name, i_type = p["SubscriptionID"], p["OfferID"], p["OfferName"], p["ChargeType"]
        dates, numbers, checked, D, with_match = self._dates.get, LICENSE_NUMBERS, self._license_row, Decimal, self._with_match
        charges = tax_sum = total_sum = ZERO
        rows, row = 0, first_row - 1
        try:
            for record in records:
                row += 1
                if len(record) != width:
                    if not record:
                        continue  # a blank line
                    raise self._short_row(row, record)
                unit, quantity, amount, discount = record[i_unit], record[i_qty], record[i_amount], record[i_disc]
                subtotal, tax, total = record[i_sub], record[i_tax], record[i_total]
                start, end = dates(record[i_start]), dates(record[i_end])
                sstart, send = record[i_sstart], record[i_send]
                customer_ref, domain, name, pc_sub = record[i_cust], record[i_domain], record[i_name], record[i_pcsub]
                billing_sub, offer, offer_name, charge_type = record[i_bsub], record[i_offer], record[i_offer_name], record[i_type]
                if (start is None or end is None or end[0] < start[0] or record[i_cur] != "CNY"
                        or (sstart and dates(sstart) is None) or (send and dates(send) is None)
                        or not numbers(f"{unit},{quantity},{amount},{discount},{subtotal},{tax},{total}")
                        or len(customer_ref) > 64 or len(domain) > 253 or len(name) > 200 or len(pc_sub) > 64
                        or len(billing_sub) > 64 or len(offer) > 100 or len(offer_name) > 200 or len(charge_type) > 60):
                    values, amount_d, tax_d, total_d = checked(record, row)
                    if match is not None:
                        values = with_match(values, match)
                else:
                    amount_d, tax_d, total_d, subtotal_d = D(amount), D(tax), D(total), D(subtotal)
                    if (amount_d - D(discount or "0") != subtotal_d) or (subtotal_d + tax_d != total_d):
                        checked(record, row)  # names the problem
                    customer_ref, domain, pc_sub, billing_sub = (customer_ref.lower(), domain.lower(), pc_sub.lower(),
                                                                 billing_sub.lower())
                    if match is None:
                        values = (file_id, row, "license", customer_ref, domain, name, pc_sub, billing_sub, offer,
                                  offer_name, "", "", charge_type, start[1], end[1], None, quantity, unit, amount, tax,
                                  total, "")
                    else:
                        found = match("license", pc_sub, billing_sub, customer_ref, domain) or NO_MATCH
                        values = (file_id, row, "license", customer_ref, domain, name, pc_sub, billing_sub, offer,
                                  offer_name, "", "", charge_type, start[1], end[1], None, quantity, unit, amount, tax,
                                  total, found[2], found[0], found[1])
                charges += amount_d
                tax_sum += tax_d
                total_sum += total_d
                rows += 1
                yield values
        finally:
            self.rows, self.charges, self.tax, self.total = rows, charges, tax_sum, total_sum

    def _usage(self, records, first_row, match=None):
        p, width, file_id = self.layout.positions, self.layout.width, self.file_id
        i_cons, i_incl, i_over, i_price = p["ConsumedQuantity"], p["IncludedQuantity"], p["OverageQuantity"], p["ListPrice"]
        i_pretax, i_tax, i_total, i_cur = p["PretaxCharges"], p["TaxAmount"], p["PostTaxTotal"], p["Currency"]
        i_invoice, i_usage, i_rate, i_rate2 = p["InvoiceNumber"], p["UsageDate"], p["PretaxEffectiveRate"], p["PostTaxEffectiveRate"]
        i_start, i_end = p["ChargeStartDate"], p["ChargeEndDate"]
        i_cust, i_domain, i_name, i_bsub = p["CustomerID"], p["DomainName"], p["CustomerName"], p["SubscriptionID"]
        i_meter, i_meter_name, i_service, i_region, i_type = (p["ResourceGUID"], p["ResourceName"], p["ServiceName"],
                                                              p["Region"], p["ChargeType"])
        dates, numbers, checked, D, with_match = self._dates.get, USAGE_NUMBERS, self._usage_row, Decimal, self._with_match
        subtract, multiply, invoice_number = EXACT.subtract, EXACT.multiply, self.invoice_number
        charges = tax_sum = total_sum = ZERO
        rows, row = 0, first_row - 1
        try:
            for record in records:
                row += 1
                if len(record) != width:
                    if not record:
                        continue  # a blank line
                    raise self._short_row(row, record)
                consumed, included, overage, price = record[i_cons], record[i_incl], record[i_over], record[i_price]
                pretax, tax, total, usage_text = record[i_pretax], record[i_tax], record[i_total], record[i_usage]
                start, end = dates(record[i_start]), dates(record[i_end])
                usage = dates(usage_text) if usage_text else NO_DATE
                customer_ref, domain, name, billing_sub = record[i_cust], record[i_domain], record[i_name], record[i_bsub]
                meter, meter_name, service, region = record[i_meter], record[i_meter_name], record[i_service], record[i_region]
                charge_type = record[i_type]
                if (start is None or end is None or usage is None or end[0] < start[0] or record[i_cur] != "CNY"
                        or record[i_invoice] != invoice_number
                        or not numbers(f"{consumed},{included},{overage},{price},{pretax},{tax},{total},"
                                       f"{record[i_rate]},{record[i_rate2]}")
                        or len(customer_ref) > 64 or len(domain) > 253 or len(name) > 200 or len(billing_sub) > 64
                        or len(meter) > 100 or len(meter_name) > 200 or len(service) > 100 or len(region) > 60
                        or len(charge_type) > 60):
                    values, pretax_d, tax_d, total_d = checked(record, row)
                    if match is not None:
                        values = with_match(values, match)
                else:
                    overage_d, pretax_d, tax_d, total_d = D(overage), D(pretax), D(tax), D(total)
                    if (subtract(D(consumed), D(included)) != overage_d
                            or multiply(D(price), overage_d).quantize(FEN, rounding=ROUND_HALF_UP, context=EXACT) != pretax_d
                            or pretax_d + tax_d != total_d):
                        checked(record, row)  # names the problem
                    customer_ref, domain, billing_sub = customer_ref.lower(), domain.lower(), billing_sub.lower()
                    if match is None:
                        values = (file_id, row, "usage", customer_ref, domain, name, "", billing_sub, meter,
                                  meter_name, service, region, charge_type, start[1], end[1], usage[1], overage, price,
                                  pretax, tax, total, "")
                    else:
                        found = match("usage", "", billing_sub, customer_ref, domain) or NO_MATCH
                        values = (file_id, row, "usage", customer_ref, domain, name, "", billing_sub, meter,
                                  meter_name, service, region, charge_type, start[1], end[1], usage[1], overage, price,
                                  pretax, tax, total, found[2], found[0], found[1])
                charges += pretax_d
                tax_sum += tax_d
                total_sum += total_d
                rows += 1
                yield values
        finally:
            self.rows, self.charges, self.tax, self.total = rows, charges, tax_sum, total_sum
