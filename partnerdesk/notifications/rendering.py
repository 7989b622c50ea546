"""Turning a template and a context into a plain-text subject and body in the recipient's language."""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput

from .defaults import SUPPORT_HOURS, default_template

# No loaders: an edited template cannot {% include %} or {% extends %} files from the server.
_ENGINE = Engine(loaders=[], autoescape=False)
# The same engine, but an unknown variable leaves a mark, so an edit can be refused for a typo.
_UNKNOWN = "\x00unknown:%s\x00"
_CHECKING_ENGINE = Engine(loaders=[], autoescape=False, string_if_invalid=_UNKNOWN)

_EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class TemplateProblem(InvalidInput):
    """A template that does not compile or render; `part` ("subject" or "body") is the field at fault."""

    def __init__(self, part: str, message, **params):
        super().__init__(message, field=part, part=_PART_NAMES[part], **params)
        self.part = part


_PART_NAMES = {"subject": _("subject"), "body": _("body")}


def format_date(value, language: str) -> str:
    """An ISO date (or date) as a reader of the language writes it: 2026年11月24日, 24 Nov 2026."""
    day = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = parse_date(value)
            if day is None and (moment := parse_datetime(value)) is not None:
                day = moment.date()
        except ValueError:  # well-formed but impossible, such as 2026-02-30
            day = None
    if day is None:
        return "" if value is None else str(value)
    if language.startswith("zh"):
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def format_amount(value) -> str:
    """A decimal amount with thousands separators and two decimals: "12800" -> "12,800.00"."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)


def sender_defaults(language: str) -> dict:
    """Who the mail is from and how to reach support, from settings.NOTIFICATIONS (all optional)."""
    conf = getattr(settings, "NOTIFICATIONS", {}) or {}
    hours = conf.get("SUPPORT_HOURS") or SUPPORT_HOURS
    if isinstance(hours, dict):
        hours = hours.get(language) or SUPPORT_HOURS.get(language, "")
    return {
        "partner_name": conf.get("PARTNER_NAME") or "PartnerDesk",
        "support_email": conf.get("SUPPORT_EMAIL") or settings.DEFAULT_FROM_EMAIL,
        "support_hours": hours,
        "portal_url": conf.get("PORTAL_URL") or "",
    }


def prepare_context(context: dict, language: str) -> dict:
    """The sender's context over the sender defaults, with dates and amounts formatted for the language."""
    out = sender_defaults(language)
    out.update({k: v for k, v in (context or {}).items() if not (k in out and v in (None, ""))})
    for key, value in list(out.items()):
        if key.endswith("_date"):
            out[key] = format_date(value, language)
        elif key == "amount_due" or key.startswith("amount_"):
            out[key] = format_amount(value)
    return out


def _tidy_body(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _tidy_subject(text: str) -> str:
    # A header cannot hold a line break; templates may wrap, the subject is one line.
    return " ".join(text.split())


def render_source(subject: str, body: str, context: dict, language: str, *, check: bool = False) -> tuple[str, str]:
    """Render a subject and body template; raise TemplateProblem naming the part at fault.

    With check=True an unknown variable is a problem too (used before an edited template is saved).
    """
    engine = _CHECKING_ENGINE if check else _ENGINE
    ctx = prepare_context(context, language)
    out = []
    for part, source in (("subject", subject), ("body", body)):
        try:
            text = engine.from_string(source).render(Context(ctx, autoescape=False))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(part, _("the %(part)s template does not compile: %(detail)s"), detail=str(exc))
        except Exception as exc:  # a template can fail in many ways at render time; all of them refuse it
            raise TemplateProblem(part, _("the %(part)s template cannot be rendered: %(detail)s"), detail=str(exc))
        if check and "\x00unknown:" in text:
            name = text.split("\x00unknown:", 1)[1].split("\x00", 1)[0]
            raise TemplateProblem(part, _("the %(part)s template uses an unknown variable %(name)s"), name=repr(name))
        if check and ("{{" in text or "{%" in text):
            # Django leaves a tag it cannot read, such as "{{ due_date }", as text; the customer would see it.
            raise TemplateProblem(part, _("the %(part)s template has a tag that is not closed properly"))
        out.append(text)
    subject_text, body_text = _tidy_subject(out[0]), _tidy_body(out[1])
    if not subject_text:
        raise TemplateProblem("subject", _("the subject renders empty"))
    if not body_text.strip():
        raise TemplateProblem("body", _("the body renders empty"))
    return subject_text, body_text


def template_source(key: str, language: str, overrides: dict | None = None) -> tuple[str, str]:
    """The subject and body source for a key and language: the administrator's version, else the default.

    `overrides` may carry already-loaded EmailTemplate rows keyed by (key, language), to save queries.
    """
    from .models import EmailTemplate

    if overrides is not None and (key, language) in overrides:
        row = overrides[(key, language)]
    else:
        row = EmailTemplate.objects.filter(key=key, language=language).first()
        if overrides is not None:
            overrides[(key, language)] = row
    if row is not None:
        return row.subject, row.body
    default = default_template(key, language) or default_template(key, "en")
    if default is None:
        raise TemplateProblem("body", _("there is no email template %(key)s"), key=repr(key))
    return default.subject, default.body


def render_email(email, *, overrides: dict | None = None) -> tuple[str, str]:
    """An OutboundEmail's subject and body (see services.render)."""
    subject, body = template_source(email.template_key, email.language, overrides)
    context = {"customer_name": email.customer.name} if email.customer_id else {}
    context.update(email.context or {})
    return render_source(subject, body, context, email.language)
