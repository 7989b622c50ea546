"""Settings: staff and portal users (invite, role, teams, deactivate, reactivate) and teams, for administrators;
the page an invited user opens to set a password; inviting a customer's contact to the portal."""

from django.contrib import messages
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts import services
from partnerdesk.accounts.forms import (
    InviteForm,
    ReasonForm,
    TeamForm,
    TeamMemberForm,
    UserChangeForm,
    UserFilterForm,
)
from partnerdesk.accounts.invitations import INVITATION_DAYS, invitation_tokens
from partnerdesk.accounts.models import Role, Team, User, UserStatus
from partnerdesk.accounts.permissions import get_customer_or_404
from partnerdesk.accounts.queries import user_list as query_users
from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import BillingContact
from partnerdesk.errors import DomainError

from ..access import staff_page
from ..forms import add_domain_error

PAGE_SIZE = 50


def _link_base(request) -> str:
    return request.build_absolute_uri("/")


@staff_page("users.manage")
def user_list(request):
    """Every user with role, teams, status and last sign-in; filtered by status, role or a search."""
    form = UserFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    users = query_users(status=filters.get("status") or None, role=filters.get("role") or None, q=filters.get("q"))
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/users/list.html", {"form": form, "page": page, "users": page.object_list})


@staff_page("users.manage")
def user_invite(request):
    """Invite a staff user by email: the invitation goes out through the email queue."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.invite_staff_user(
                actor=request.user, email=data["email"], name=data["name"], role=data["role"],
                team_ids=[t.pk for t in data["teams"]], language=data["language"], link_base=_link_base(request),
                reason=data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s. The link works once, for %(days)s days.")
                             % {"email": user.email, "days": INVITATION_DAYS})
            return redirect("user_detail", user.pk)
    return render(request, "web/users/invite.html", {"form": form})


def _user_page(request, user, **forms):
    initial = {"role": user.role, "teams": list(user.teams.all())}
    context = {
        "person": user,
        "change_form": forms.get("change_form") or UserChangeForm(initial=initial),
        "reason_form": forms.get("reason_form") or ReasonForm(),
        "is_staff_user": user.role != Role.CUSTOMER,
        "is_self": user.pk == request.user.pk,
        "active_tokens": user.api_tokens.filter(revoked_at__isnull=True).count(),
        "entries": AuditEntry.objects.filter(object_type="accounts.user", object_id=str(user.pk)).order_by("-at", "-id")[:20],
        "statuses": UserStatus,
    }
    return render(request, "web/users/detail.html", context)


@staff_page("users.manage")
def user_detail(request, pk):
    """One user: change role and teams (POST), deactivate or reactivate, send the invitation again; its history."""
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        form = UserChangeForm(request.POST)
        if form.is_valid():
            try:
                services.change_user(user, actor=request.user, role=form.cleaned_data["role"],
                                     team_ids=[t.pk for t in form.cleaned_data["teams"]],
                                     reason=form.cleaned_data["reason"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("%(username)s: role and teams saved.") % {"username": user.username})
                return redirect("user_detail", user.pk)
        return _user_page(request, user, change_form=form)
    return _user_page(request, user)


def _reasoned(request, pk, action, done_message):
    user = get_object_or_404(User, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            action(user, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, done_message % {"username": user.username})
            return redirect("user_detail", user.pk)
    return _user_page(request, user, reason_form=form)


@require_POST
@staff_page("users.manage")
def user_deactivate(request, pk):
    """Deactivate: the user's sessions end on their next request and its API tokens are revoked."""
    return _reasoned(request, pk, services.deactivate_user,
                     _("%(username)s is deactivated: signed out everywhere, API tokens revoked."))


@require_POST
@staff_page("users.manage")
def user_reactivate(request, pk):
    return _reasoned(request, pk, services.reactivate_user, _("%(username)s may sign in again."))


@require_POST
@staff_page("users.manage")
def user_resend_invitation(request, pk):
    user = get_object_or_404(User, pk=pk)
    try:
        services.resend_invitation(user, actor=request.user, link_base=_link_base(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("A new invitation was sent to %(email)s; the earlier link no longer works.")
                         % {"email": user.email})
    return redirect("user_detail", user.pk)


@require_POST
@staff_page("users.manage")
def portal_invite(request, pk, contact_pk):
    """Invite one of a customer's contacts to the customer portal (from the customer page)."""
    customer = get_customer_or_404(request.user, pk)
    contact = get_object_or_404(BillingContact, pk=contact_pk, customer=customer)
    try:
        services.invite_portal_user(actor=request.user, contact=contact, link_base=_link_base(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(email)s is invited to the portal. The link works once, for %(days)s days.")
                         % {"email": contact.email, "days": INVITATION_DAYS})
    return redirect("customer_detail", customer.pk)


# --- teams -------------------------------------------------------------------------------------------------


@staff_page("users.manage")
def team_list(request):
    """The teams with their members; a POST creates one."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(actor=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return redirect("team_detail", team.pk)
    teams = Team.objects.prefetch_related("members")
    return render(request, "web/users/teams.html", {"form": form, "teams": teams})


@staff_page("users.manage")
def team_detail(request, pk):
    """One team: rename it (POST), its members, add or remove one."""
    team = get_object_or_404(Team, pk=pk)
    form = TeamForm(request.POST or None, initial={"name": team.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.change_team(team, actor=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Team renamed to “%(name)s”.") % {"name": form.cleaned_data["name"]})
            return redirect("team_detail", team.pk)
    return render(request, "web/users/team.html", {
        "team": team, "form": form, "member_form": TeamMemberForm(team=team),
        "members": team.members.order_by("username"),
    })


@require_POST
@staff_page("users.manage")
def team_members(request, pk):
    """Add a member (user=ID) or remove one (remove=ID)."""
    team = get_object_or_404(Team, pk=pk)
    remove = request.POST.get("remove")
    try:
        if remove:
            member = get_object_or_404(team.members, pk=int(remove) if remove.isascii() and remove.isdigit() and len(remove) < 19 else 0)
            services.change_team(team, actor=request.user, remove_ids=[member.pk])
            messages.success(request, _("%(username)s removed from the team.") % {"username": member.username})
        else:
            form = TeamMemberForm(request.POST, team=team)
            if not form.is_valid():
                messages.error(request, _("Choose a staff user to add."))
                return redirect("team_detail", team.pk)
            member = form.cleaned_data["user"]
            services.change_team(team, actor=request.user, add_ids=[member.pk])
            messages.success(request, _("%(username)s added to the team.") % {"username": member.username})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("team_detail", team.pk)


# --- the invitee --------------------------------------------------------------------------------------------


class InvitationAcceptView(PasswordResetConfirmView):
    """The invitation link: the invitee sets a password (Django's validators) and then signs in.

    Django's view moves the token out of the URL into the session before showing the form, so it cannot leak
    through a Referer header; the link is spent once the password is set.
    """

    template_name = "web/users/invitation_accept.html"
    token_generator = invitation_tokens
    success_url = reverse_lazy("login")
    post_reset_login = False

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.invited_at is not None else None

    def form_valid(self, form):
        try:
            services.accept_invitation(self.user, password=form.cleaned_data["new_password1"])
        except DomainError as exc:
            add_domain_error(form, exc)
            return self.form_invalid(form)
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, _("Your password is set. Sign in with %(username)s.")
                         % {"username": self.user.get_username()})
        return redirect(self.success_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invitee"] = self.user
        return context


invitation_accept = InvitationAcceptView.as_view()
