"""The errors that PartnerDesk's services raise. The API, the web views and the CLI turn them into a 4xx,
a form error or exit code 2, each naming the field at fault.

A refusal is written once, where it is raised, as a lazy translation with named placeholders:

    raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field="amount", number=..., amount=...)

(`_` is django.utils.translation.gettext_lazy.) `message` renders it in the active language: the web's
reader's, the API client's (Accept-Language; English if none), the CLI's (English: its commands run with
translations off, @no_translations). `str(exc)` is English, for logs and for records that keep why something
failed. A refusal worked out before it is raised (bounds.text_problem, say) travels as a Refusal, the same text
and values; a status in a refusal is `status_word(Choices, value)`, its label in the reader's language.
"""

from django.utils import translation
from django.utils.functional import Promise, lazy


class Refusal:
    """Why something is refused, to be told later: a lazy translation and the values of its placeholders.
    `str()` renders it as a sentence in the active language. Raise it with `InvalidInput(refusal, field=...)`,
    or give it to pydantic as `ValueError(refusal)` (the API renders it in the client's language)."""

    def __init__(self, template, **params):
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return _as_sentence(self.template, self.params)

    def __repr__(self) -> str:
        with translation.override("en"):
            return f"<Refusal {str(self)!r}>"


class DomainError(Exception):
    """A request the business rules refuse; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, field: str | None = None, code: str | None = None, **params):
        if isinstance(message, Refusal):
            message, params = message.template, {**message.params, **params}
        super().__init__(message)
        self.template = message  # a lazy translation (or a plain str: a text from outside, shown as it is)
        self.params = params
        self.field = field
        if code:
            self.code = code

    @property
    def message(self) -> str:
        """The message in the active language, its placeholders filled in."""
        if isinstance(self.template, Promise):
            return _as_sentence(self.template, self.params)
        return str(self.template)  # a text from outside (Django's password validators): as it is

    def message_in(self, language: str) -> str:
        with translation.override(language):
            return self.message

    def __str__(self) -> str:
        return self.message_in("en")

    def as_dict(self) -> dict:
        """The JSON body the API returns."""
        body = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


def status_word(choices, value: str):
    """A status code ("partially_paid") as a refusal's placeholder: its label, mid-sentence ("partially paid"),
    in the language the refusal is shown in."""
    return lazy(lambda: str(choices(value).label).lower() if value in choices.values else value, str)()


def _as_sentence(template, params: dict) -> str:
    """The template in the active language, its placeholders filled in, as a sentence: the services write
    lowercase fragments ("a reason is required"); people read "A reason is required." A value that starts the
    sentence (a file or user name) is left as it is."""
    text = str(template).strip()
    if not text:
        return text
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    if not text.startswith("%("):
        text = text[0].upper() + text[1:]
    if params:
        text = text % params
    if text[-1] in ".!?。！？)）":
        return text
    return text + ("。" if chinese else ".")


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class OperatorFailure(DomainError):
    """The operator (Partner Center) refused or could not be reached; nothing was changed locally."""

    status = 502
    code = "operator_error"

    def __init__(self, message, *, permanent: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        # The operator would answer the same however often it is asked (a 404, say): a retry cannot succeed.
        self.permanent = permanent
