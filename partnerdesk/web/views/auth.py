"""Signing in and out, and the home page that sends each user to their desk."""

from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from partnerdesk.accounts.services import clear_login_failures

from ..access import is_portal_user, is_staff_user, signed_in
from ..forms import LoginForm


class ThrottledLoginView(LoginView):
    """Django's LoginView with login throttling (see LoginForm): refused attempts still get the form (200)."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        # Only a real sign-in clears the record; a form with a missing field never reaches here.
        clear_login_failures(form.get_user().get_username())
        return super().form_valid(form)


class SignOutView(LogoutView):
    """Sign out (POST only, CSRF-protected)."""

    next_page = "login"


@signed_in
def home(request):
    """Staff go to the dashboard, customer users to their portal."""
    if is_staff_user(request.user):
        return redirect("dashboard")
    if is_portal_user(request.user):
        return redirect("portal_home")
    raise PermissionDenied("no desk for this user")
