"""Template filters of the web desk: money, status badges, permissions and query strings."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.billing.money import to_money
from partnerdesk.notifications.catalogue import template_label

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥"}

BADGE_TONES = {
    # customers
    "active": "ok", "on_hold": "warn", "closed": "muted",
    # subscriptions
    "suspended": "danger", "pending": "warn", "deleted": "muted", "expired": "muted", "disabled": "muted",
    "none": "muted",
    # invoices
    "draft": "muted", "issued": "info", "partially_paid": "warn", "paid": "ok", "void": "muted", "overdue": "danger",
    # customers in the list: what matters (see web.views.customers)
    "exempt": "info",
    # disputes and promises to pay
    "open": "warn", "resolved": "ok", "kept": "ok", "broken": "danger", "cancelled": "muted",
    # emails
    "queued": "info", "sending": "info", "sent": "ok", "failed": "danger", "bounced": "danger",
    # operator requests and collections runs
    "in_progress": "info", "done": "ok", "skipped": "muted", "running": "info", "finished": "ok", "interrupted": "warn",
    # collections log
    "reminder": "info", "notice": "warn", "call": "warn", "suspend": "danger", "deletion_warning": "danger",
    "cancel": "danger", "reactivate": "ok", "reactivated": "ok", "stage": "muted",
    # policies
    "default": "info",
    # email templates
    "edited": "warn", "default_text": "muted",
    # fapiao ("issued" as an invoice's)
    "requested": "warn", "delivered": "ok", "reversal_requested": "warn", "reversed": "muted",
}

STATEMENT_KINDS = {
    "invoice": _("Invoice"),
    "payment": _("Payment"),
    "credit_note": _("Credit note"),
    "refund": _("Refund"),
    "payment_reversal": _("Payment reversed"),
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


@register.filter
def get_item(mapping, key):
    """{{ counts|get_item:kind }}: a dictionary value by a key held in a variable."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def split_words(text):
    """ "a b c"|split_words -> ["a", "b", "c"] (a list written inline in a template)."""
    return str(text).split()


@register.filter
def field_named(form, name):
    """{{ form|field_named:name }}: a form's bound field by a name held in a variable."""
    return form[name]


@register.filter
def get_attr(obj, name):
    """{{ row|get_attr:key }}: an attribute by a name held in a variable."""
    return getattr(obj, str(name), None)


@register.filter
def term(duration) -> str:
    """An ISO 8601 term as the operator gives it ("P1M", "P1Y", "P3Y") in words; anything else as it is."""
    import re

    match = re.fullmatch(r"P(\d+)([MY])", duration or "")
    if not match:
        return duration or "—"
    n = int(match.group(1))
    if match.group(2) == "M":
        return ngettext("%(n)s month", "%(n)s months", n) % {"n": n}
    return ngettext("%(n)s year", "%(n)s years", n) % {"n": n}


@register.filter
def system_text(text) -> str:
    """A reason or note PartnerDesk wrote into a record, in the reader's language (typed text as it is)."""
    from partnerdesk.service_messages import translate_system_text

    return translate_system_text(text) if isinstance(text, str) else text


@register.filter
def system_name(text) -> str:
    """The name PartnerDesk gave a record, in the reader's language (other names as they are)."""
    from partnerdesk.service_messages import translate_system_name

    return translate_system_name(text) if isinstance(text, str) else text


@register.filter
def action_label(code) -> str:
    """An audit action's name in the reader's language."""
    from partnerdesk.audit.labels import action_label as label

    return label(code)


@register.filter
def audit_actor(entry) -> str:
    """Who made an audit entry, in the reader's language where PartnerDesk itself acted."""
    from partnerdesk.audit.labels import actor_name

    return actor_name(entry.actor_label, entry.actor_id)


@register.filter
def audit_object(entry) -> str:
    """What an audit entry is about, in the reader's language where PartnerDesk named it."""
    from partnerdesk.audit.labels import object_name

    return object_name(entry.object_type, entry.object_repr)


@register.filter
def email_template_label(key) -> str:
    """An email template's name ("Overdue notice") rather than its key."""
    return template_label(key)
