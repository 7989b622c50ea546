"""Reading users for the administrators' list (web page and API alike)."""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput

from .models import Role, User, UserStatus

_INVITED = Q(is_active=True, invited_at__isnull=False, password__startswith=UNUSABLE_PASSWORD_PREFIX)


def user_list(*, status: str | None = None, role: str | None = None, q: str | None = None) -> QuerySet:
    """Users with their teams, staff first then portal users, each by username; filtered as asked."""
    users = User.objects.select_related("customer").prefetch_related("teams")
    if status:
        if status not in UserStatus.values:
            raise InvalidInput(_("status must be one of %(choices)s"), field="status", choices=", ".join(UserStatus.values))
        users = {UserStatus.DEACTIVATED: users.filter(is_active=False), UserStatus.INVITED: users.filter(_INVITED),
                 UserStatus.ACTIVE: users.filter(is_active=True).exclude(_INVITED)}[status]
    if role:
        if role not in Role.values:
            raise InvalidInput(_("role must be one of %(roles)s"), field="role", roles=", ".join(Role.values))
        users = users.filter(role=role)
    if q and q.strip():
        q = q.strip()
        users = users.filter(Q(username__icontains=q) | Q(email__icontains=q) | Q(first_name__icontains=q)
                             | Q(last_name__icontains=q) | Q(customer__name__icontains=q) | Q(teams__name__icontains=q)
                             ).distinct()
    portal_last = Case(When(role=Role.CUSTOMER, then=Value(1)), default=Value(0), output_field=IntegerField())
    return users.annotate(is_portal=portal_last).order_by("is_portal", "username")
