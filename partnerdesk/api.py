"""The REST API under /api/v1: authentication, error shapes, and the routers of each app."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from partnerdesk.accounts.services import user_for_token
from partnerdesk.api_guard import GuardedParser, document_error_answers
from partnerdesk.errors import DomainError, Refusal
from partnerdesk.service_messages import translate_validation_error


class TokenAuth(HttpBearer):
    """Personal API tokens: `Authorization: Bearer pd_...`."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The web session, for the browser and the interactive docs; CSRF is enforced on unsafe methods."""

    from django.conf import settings as _settings

    param_name = _settings.SESSION_COOKIE_NAME

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated and user.is_active else None


class PartnerDeskAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return document_error_answers(super().get_openapi_schema(*args, **kwargs))

    def validation_error_from_error_contexts(self, error_contexts):
        """As ninja's, but a validator's Refusal (api_schemas) is kept as the error's `msg`: ninja would make it text
        in the language of the moment, and `_invalid` renders it in the client's."""
        exc = super().validation_error_from_error_contexts(error_contexts)
        originals = [err for context in error_contexts
                     for err in context.pydantic_validation_error.errors(include_url=False)]
        for err, original in zip(exc.errors, originals, strict=False):
            error = (original.get("ctx") or {}).get("error")
            if isinstance(error, ValueError) and error.args and isinstance(error.args[0], Refusal):
                err["msg"] = error.args[0]
        return exc


api = PartnerDeskAPI(
    title="PartnerDesk API",
    version="1",
    description="Customers, subscriptions, invoices, payments and the audit log of a 21Vianet cloud partner. "
    "Money is sent and returned as decimal strings (\"1234.50\"), never as JSON numbers with a fraction.",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    parser=GuardedParser(),
)


def _in_clients_language(request, message) -> str:
    """`detail` is for people: in the language the client asks for with Accept-Language, else in English.
    (`code` and `field` are for programs and never change.) `message`: a lazy translation, or a Refusal."""
    with translation.override(_clients_language(request)):
        return str(message)


def _validation_message(err: dict) -> str:
    """One schema check's message, in the active language: our own (a Refusal, raised by a validator of
    api_schemas or by the guard), else pydantic's by its error type."""
    msg = err.get("msg", "invalid")
    if isinstance(msg, Refusal):
        return str(msg)
    return translate_validation_error(err.get("type", ""), msg)


def _clients_language(request) -> str:
    if not request.headers.get("Accept-Language"):
        return "en"
    return translation.get_language_from_request(request)


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    with translation.override(_clients_language(request)):
        body = exc.as_dict()
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    detail = _in_clients_language(request, _("You do not have permission to do this."))
    return api.create_response(request, {"detail": detail, "code": "forbidden"}, status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": _in_clients_language(request, _("Not found.")), "code": "not_found"}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    detail = _in_clients_language(request, _("Authentication required: a bearer token or a session."))
    return api.create_response(request, {"detail": detail, "code": "unauthenticated"}, status=401)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, ValidationError):  # the guard's refusal, which ninja wraps as "cannot parse"
        return _invalid(request, exc.__cause__)
    body = {"detail": str(exc), "code": "bad_request"}
    if str(exc).startswith("Cannot parse request body"):
        body.update(detail=_in_clients_language(request, _("The request body is not valid JSON.")), field="body", code="malformed_json")
    elif exc.status_code == 403 and "CSRF" in str(exc):
        body.update(detail=_in_clients_language(request, _("CSRF check failed: send the CSRF token with a session, or use a bearer token.")),
                    code="csrf_failed")
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc):
    """A body past the size limit (413) or too many parameters (400): JSON like every other error."""
    if isinstance(exc, RequestDataTooBig):
        detail = _in_clients_language(request, _("The request body is too large."))
        return api.create_response(request, {"detail": detail, "code": "too_large", "field": "body"}, status=413)
    if isinstance(exc, TooManyFieldsSent):
        detail = _in_clients_language(request, _("The request has too many parameters."))
        return api.create_response(request, {"detail": detail, "code": "too_many_fields", "field": "query"}, status=400)
    detail = _in_clients_language(request, _("The request was refused."))
    return api.create_response(request, {"detail": detail, "code": "bad_request"}, status=400)


def _field_name(loc) -> str:
    """pydantic's location as the services name fields: ("body", "payload", "lines", 0, "quantity") is "lines[0].quantity"."""
    name = ""
    for part in loc:
        if part in ("body", "payload", "query", "path"):
            continue
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors = []
    with translation.override(_clients_language(request)):
        for err in exc.errors:
            errors.append({"field": _field_name(err.get("loc", [])), "message": _validation_message(err),
                           "type": err.get("type", "")})
    first = errors[0] if errors else {"field": "", "message": "invalid input"}
    return api.create_response(
        request,
        {"detail": f"{first['field']}: {first['message']}", "field": first["field"], "code": "invalid_input", "errors": errors},
        status=422,
    )


def _register_routers():
    from partnerdesk.accounts.api import router as accounts_router
    from partnerdesk.audit.api import router as audit_router
    from partnerdesk.billing.api import router as billing_router
    from partnerdesk.customers.api import router as customers_router
    from partnerdesk.disputes.api import router as disputes_router
    from partnerdesk.dunning.api import router as dunning_router
    from partnerdesk.escalations.api import router as escalations_router
    from partnerdesk.escalations.api_stuck import router as stuck_requests_router
    from partnerdesk.escalations.reports_api import router as escalation_reports_router
    from partnerdesk.fapiao.api import router as fapiao_router
    from partnerdesk.finance.api import router as finance_router
    from partnerdesk.fraud.api import router as fraud_router
    from partnerdesk.notifications.api import router as notifications_router
    from partnerdesk.payables.api import router as payables_router
    from partnerdesk.rebilling.api import router as rebilling_router
    from partnerdesk.reports.api import router as reports_router
    from partnerdesk.search.api import router as search_router
    from partnerdesk.support.api import router as support_router
    from partnerdesk.support.inbound_api import router as inbound_mail_router
    from partnerdesk.support.reports_api import router as support_reports_router
    from partnerdesk.support.search_api import router as case_search_router
    from partnerdesk.workdays.api import router as workdays_router

    api.add_router("", accounts_router)
    api.add_router("", customers_router)
    api.add_router("", billing_router)
    api.add_router("", audit_router)
    api.add_router("", workdays_router)
    api.add_router("", dunning_router)
    api.add_router("", notifications_router)
    api.add_router("", reports_router)
    api.add_router("", search_router)
    api.add_router("", case_search_router)  # before support_router: /cases/search is not /cases/{case_id}
    api.add_router("", disputes_router)
    api.add_router("", support_router)
    api.add_router("", support_reports_router)
    api.add_router("", escalations_router)
    api.add_router("", escalation_reports_router)
    api.add_router("", stuck_requests_router)
    api.add_router("", inbound_mail_router)
    api.add_router("", rebilling_router)
    api.add_router("", payables_router)
    api.add_router("", fapiao_router)
    api.add_router("", finance_router)
    api.add_router("", fraud_router)


_register_routers()
