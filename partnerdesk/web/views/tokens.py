"""Personal API tokens: list, create (the raw value is shown once), revoke."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partnerdesk.accounts.services import create_api_token, revoke_api_token
from partnerdesk.errors import DomainError

from ..access import signed_in
from ..forms import ApiTokenForm, add_domain_error

USED_FORM_KEYS = "api_token_form_keys"


@never_cache
@signed_in
def token_list(request):
    """The user's own tokens; a POST creates one and this response is the only place its value appears."""
    form = ApiTokenForm(request.POST or None)
    raw = None
    if request.method == "POST" and form.is_valid():
        # The keys of the forms that already created a token (not secret: the token's value is never kept).
        used = request.session.get(USED_FORM_KEYS, [])
        key = form.cleaned_data["form_key"]
        if key and key in used:
            messages.info(request, _("This form already created its token; its value was shown once. If you did not "
                                     "copy it, revoke it and create another."))
            form = ApiTokenForm()
        else:
            try:
                token, raw = create_api_token(user=request.user, name=form.cleaned_data["name"], actor=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if key:
                    request.session[USED_FORM_KEYS] = (used + [key])[-20:]
                form = ApiTokenForm()
    tokens = request.user.api_tokens.order_by("-created_at", "-id")
    return render(request, "web/account/tokens.html", {"form": form, "tokens": tokens, "raw_token": raw})


@require_POST
@signed_in
def token_revoke(request, pk):
    """Revoke one of the user's own tokens (another user's token is not found)."""
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    revoke_api_token(token, actor=request.user, reason="revoked by its owner in the web UI")
    messages.success(request, _("Token “%(name)s” revoked; it no longer works.") % {"name": token.name})
    return redirect("token_list")
