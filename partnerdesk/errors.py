"""The errors that PartnerDesk's services raise. The API, the web views and the CLI turn them into a 4xx,
a form error or exit code 2, each naming the field at fault.

A refusal is written once, where it is raised, as a lazy translation with named placeholders:

    raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field="amount", number=..., amount=...)

(`_` is django.utils.translation.gettext_lazy.) `message` renders it in the active language: the web's
reader's, the API client's (Accept-Language; English if none), the CLI's (English).
"""

from django.utils import translation


class DomainError(Exception):
    """A request the business rules refuse; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, field: str | None = None, code: str | None = None, **params):
        super().__init__(message)
        self.template = message  # a lazy translation (or a plain str: a message from outside, e.g. the operator's)
        self.params = params
        self.field = field
        if code:
            self.code = code

    @property
    def message(self) -> str:
        """The message in the active language, its placeholders filled in."""
        # (for messages not yet written as lazy translations)
        from partnerdesk.service_messages import translate_service_message

        text = str(self.template)
        if self.params:
            return text % self.params
        if isinstance(self.template, str):
            return text if (translation.get_language() or "en").startswith("en") else translate_service_message(text)
        return _as_sentence(text)

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


def _as_sentence(text: str) -> str:
    """The services write lowercase fragments ("a reason is required"); people read sentences."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] in ".!?。！？)）":
        return text
    return text + ("。" if "\u4e00" <= text[-1] <= "\u9fff" else ".")


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
