"""Template filters of the web desk: money, status badges, permissions and query strings."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.billing.money import to_money

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥"}

BADGE_TONES = {
    # customers
    "active": "ok", "on_hold": "warn", "closed": "muted",
    # subscriptions
    "suspended": "danger", "pending": "warn", "deleted": "muted", "expired": "muted", "disabled": "muted",
    "none": "muted",
    # invoices
    "draft": "muted", "issued": "info", "partially_paid": "warn", "paid": "ok", "void": "muted",
}

STATEMENT_KINDS = {
    "invoice": _("Invoice"),
    "payment": _("Payment"),
    "credit_note": _("Credit note"),
    "refund": _("Refund"),
}


@register.filter
def money(value, currency="CNY"):
    """1234.5 -> '¥1,234.50' (two decimals, thousands separators; the code for other currencies)."""
    if value is None or value == "":
        return "—"
    try:
        amount = to_money(value if isinstance(value, Decimal) else str(value), currency or "CNY")
    except (ValueError, TypeError, InvalidOperation):
        return str(value)
    symbol = CURRENCY_SYMBOLS.get(currency or "CNY", f"{currency} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


@register.filter
def badge_tone(status) -> str:
    """The colour family of a status badge."""
    return BADGE_TONES.get(str(status), "muted")


@register.filter
def can(user, action) -> bool:
    """{% if request.user|can:"payments.record" %}: the one permission rule, asked from a template."""
    return has_perm(user, action)


@register.filter
def statement_kind(kind) -> str:
    return STATEMENT_KINDS.get(kind, kind)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def is_staff_desk(user) -> bool:
    """The user works in the staff desk."""
    from ..access import is_staff_user

    return is_staff_user(user)


@register.filter
def is_portal(user) -> bool:
    """The user is a customer user of the portal."""
    from ..access import is_portal_user

    return is_portal_user(user)
