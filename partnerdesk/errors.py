"""The errors that PartnerDesk's services raise. The API, the web views and the CLI turn them into a 4xx,
a form error or exit code 2, each naming the field at fault."""


class DomainError(Exception):
    """A request the business rules refuse; nothing was changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        """The JSON body the API returns."""
        body = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


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
