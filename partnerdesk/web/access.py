"""Who may open a page: the staff desk, the customer portal, and the customer a portal user belongs to.

Every rule here defers to partnerdesk.accounts.permissions; this module only turns its answers into
redirects, 403s and 404s for the web pages.
"""

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from partnerdesk.accounts.permissions import has_perm, require, visible_customers
from partnerdesk.billing.documents import customer_zone  # noqa: F401  (one definition; the pages import it from here)

# Listing all customers is a staff-only permission: whoever holds it works in the staff desk.
STAFF_DESK = "customers.list"


def is_staff_user(user) -> bool:
    """True for partner staff (any role that may list customers)."""
    return has_perm(user, STAFF_DESK)


def is_portal_user(user) -> bool:
    """True for a customer user: may view a customer but not list them."""
    return has_perm(user, "customers.view") and not has_perm(user, STAFF_DESK)


def _login_first(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def staff_page(*actions: str):
    """A staff desk page: anonymous users sign in first, customer users get 403, and each action is required."""

    def decorate(view):
        @_login_first
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            require(request.user, STAFF_DESK)
            for action in actions:
                require(request.user, action)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def portal_page(*actions: str):
    """A customer portal page: only customer users; the view receives the user's own customer."""

    def decorate(view):
        @_login_first
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not is_portal_user(request.user):
                raise PermissionDenied("portal")
            for action in actions:
                require(request.user, action)
            customers = visible_customers(request.user)
            try:
                customer = customers.get()
            except (customers.model.DoesNotExist, customers.model.MultipleObjectsReturned):
                raise Http404
            return view(request, customer, *args, **kwargs)

        return wrapper

    return decorate


def signed_in(view):
    """Any signed-in user (staff or customer)."""
    return _login_first(view)
