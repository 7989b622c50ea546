"""{% portal_invite contact %}: beside a customer's contact, its portal user (with status) or, for an
administrator, the button that invites the contact to the portal."""

from django import template
from django.db.models import Q

from partnerdesk.accounts.models import Role, User
from partnerdesk.accounts.permissions import has_perm

register = template.Library()


@register.inclusion_tag("web/users/_portal_invite.html", takes_context=True)
def portal_invite(context, contact):
    """The contact's portal user (invited for it, or with its address at its customer), else the invite button."""
    viewer = context.get("user")
    portal_user = (User.objects.filter(role=Role.CUSTOMER, customer_id=contact.customer_id)
                   .filter(Q(contact=contact) | Q(email__iexact=contact.email)).order_by("-is_active", "pk").first())
    return {"contact": contact, "portal_user": portal_user, "can_invite": has_perm(viewer, "users.manage"),
            "csrf_token": context.get("csrf_token"), "user": viewer}
