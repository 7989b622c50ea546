"""Full-text search over the cases a user may see, each found case with a snippet of the message that matched.

The permission rule decides what is searched: a customer's user searches its own customer's cases and only
their public rows (subject, public replies), so an internal note can never make a case appear, nor show in a
snippet; staff with cases.internal search notes and events too. The index is support.fulltext.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.permissions import has_perm, require, scope
from partnerdesk.errors import InvalidInput

from . import fulltext
from .models import Case, CaseMessage, MessageKind

PER_PAGE = 20
MAX_LIMIT = 100
MAX_OFFSET = 10_000  # a search is refined, not paged ten thousand deep
SNIPPET_LENGTH = 160
_BEFORE = 50  # characters of context shown before the first match
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CaseHit:
    case: Case
    snippet: str  # plain text (escape it when shown); empty when only the subject matched
    message_id: int | None = None
    message_kind: str | None = None  # "public", or for staff also "internal" / "event"
    message_at: dt.datetime | None = None


def search_cases(user, q: str, *, limit: int = PER_PAGE, offset: int = 0) -> tuple[list[CaseHit], bool]:
    """The cases (newest first) the user may see whose subject or one message holds every word of q, and
    whether more follow. Chinese words are found inside Chinese text; invoice numbers and emails whole."""
    require(user, "cases.view")
    q = bounds.clean_text(q, field="q", max_length=bounds.SEARCH_LENGTH).strip()
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(_("%(name)s must be between %(low)s and %(high)s"), field="limit", name="limit",
                           low=1, high=MAX_LIMIT)
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(_("%(name)s must be between %(low)s and %(high)s"), field="offset", name="offset",
                           low=0, high=MAX_OFFSET)
    staff = has_perm(user, "cases.internal")
    customer_id = None if staff else getattr(user, "customer_id", None)
    if not q or (not staff and customer_id is None):
        return [], False
    ids = fulltext.matching_case_ids(q, customer_id=customer_id, include_internal=staff, limit=limit + 1,
                                     offset=offset)
    has_more, ids = len(ids) > limit, ids[:limit]
    # The index said which cases; the permission rule still says which of them this user may see.
    cases = {c.pk: c for c in scope(Case.objects.filter(pk__in=ids), user).select_related("customer", "assignee")}
    rows = fulltext.matching_messages(q, list(cases), include_internal=staff)
    wanted = {pk for pks in rows.values() for pk in pks if pk is not None}
    messages = CaseMessage.objects.filter(pk__in=wanted, case_id__in=list(cases))
    if not staff:
        messages = messages.filter(kind=MessageKind.PUBLIC)
    messages = {m.pk: m for m in messages.only("id", "case_id", "kind", "body", "visible_body", "created_at")}
    hits = []
    for pk in ids:
        case = cases.get(pk)
        if case is None:
            continue
        message = next((messages[m] for m in rows.get(pk, []) if m in messages), None)
        if message is None:
            hits.append(CaseHit(case=case, snippet=""))
            continue
        hits.append(CaseHit(case=case, snippet=snippet(message, q), message_id=message.pk,
                            message_kind=message.kind, message_at=message.created_at))
    return hits, has_more


def _needles(q: str) -> list[str]:
    """What to look for in a message's text, longest first: the query's words as typed, then its index terms."""
    q = unicodedata.normalize("NFKC", q).lower()
    words = [m.group() for m in fulltext._TOKEN.finditer(q)]
    return sorted(dict.fromkeys(words + fulltext.query_tokens(q)), key=len, reverse=True)


def snippet(message: CaseMessage, q: str, length: int = SNIPPET_LENGTH) -> str:
    """About `length` characters of the message around the first place it matches q, spaces folded."""
    needles = _needles(q)
    text = ""
    for candidate in (message.display_body, message.body):  # the match may sit in trimmed quoted history
        text = _SPACES.sub(" ", unicodedata.normalize("NFKC", candidate or "")).strip()
        lowered = text.lower()
        found = [i for i in (lowered.find(n) for n in needles) if i >= 0]
        if found:
            start = max(0, min(found) - _BEFORE)
            break
    else:
        start = 0
    piece = text[start:start + length]
    return ("…" if start > 0 else "") + piece + ("…" if start + length < len(text) else "")
