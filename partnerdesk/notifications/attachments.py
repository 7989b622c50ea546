"""Files an email carries. A queued email records only what to attach ({"kind": ..., plus ids}); the file is
made when the email is sent, by the area that owns it, so queueing stays cheap and a retry sends the same
document again (with the same Message-ID). Areas register a maker per kind at start-up, as billing does for
"invoice_pdf": notifications never imports the areas that send through it.
"""

from collections.abc import Callable
from typing import NamedTuple

from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput

MAX_ATTACHMENTS = 5


class Attachment(NamedTuple):
    filename: str
    content: bytes
    mimetype: str


class AttachmentProblem(Exception):
    """The file can never be made for this email (its object is gone or not the recipient's): do not retry."""


# kind -> maker(spec, email) -> Attachment; spec is the recorded dict, email the OutboundEmail being sent.
_makers: dict[str, Callable] = {}


def attachment_kind(kind: str):
    """Register the maker of one kind of attachment (a decorator)."""

    def register(maker):
        _makers[kind] = maker
        return maker

    return register


def check(specs) -> list[dict]:
    """The attachments to record on a queued email, checked: a list of {"kind": registered kind, ...}."""
    if not specs:
        return []
    if not isinstance(specs, list | tuple) or len(specs) > MAX_ATTACHMENTS:
        raise InvalidInput(_("at most %(count)s attachments, as a list"), field="attachments", count=MAX_ATTACHMENTS)
    out = []
    for spec in specs:
        if not isinstance(spec, dict) or spec.get("kind") not in _makers:
            raise InvalidInput(_("unknown attachment %(spec)s"), field="attachments", spec=repr(spec)[:100])
        out.append(dict(spec))
    return out


def make_all(email) -> list[Attachment]:
    """The files of an email being sent. Raises AttachmentProblem when one can never be made; any other error
    is worth another try later (the sender retries with backoff)."""
    files = []
    for spec in email.attachments or []:
        maker = _makers.get(spec.get("kind") if isinstance(spec, dict) else None)
        if maker is None:
            raise AttachmentProblem(f"unknown attachment {spec!r}")
        files.append(maker(spec, email))
    return files
