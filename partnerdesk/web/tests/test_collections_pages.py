"""Staff collections pages: the dashboard, the next days, the runs, the policies (admin editing), and the
collections section of a customer's page with its forms."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice
from partnerdesk.dunning.models import (
    ActionKind,
    CallTask,
    CollectionsAction,
    CollectionsPolicy,
    CollectionsProfile,
    CollectionsRun,
    Dispute,
    HoldStatus,
    OperatorRequest,
    PromiseToPay,
)
from partnerdesk.dunning.services import open_dispute

from .factories import STAFF, client_for, make_invoice

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 10, 20, 9, tzinfo=BEIJING), tick=False):
        yield


@pytest.fixture
def acme_oct31(frozen, acme):
    return make_invoice(acme, "1280.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))


@pytest.fixture
def collections_history(acme, acme_oct31, acme_subscriptions):
    """A run, a reminder in the log, a call to make and a suspension the operator keeps refusing."""
    sub = acme_subscriptions["sub-acme-e3"]
    CollectionsRun.objects.create(as_of=dt.date(2026, 10, 19), status="finished",
                                  counts={"due": 1, "emails": 1, "operator_requests": 1})
    CollectionsAction.objects.create(key="t:reminder", customer=acme, invoice=acme_oct31, kind=ActionKind.REMINDER,
                                     as_of=dt.date(2026, 10, 19), detail={"template": "collections.reminder"})
    CallTask.objects.create(customer=acme, invoice=acme_oct31, key="t:call", due_on=dt.date(2026, 10, 19))
    OperatorRequest.objects.create(subscription=sub, customer=acme, action=OperatorRequest.SUSPEND, cause="t",
                                   reason="Non-payment", attempts=3, last_error="operator answered 503: try later")
    return sub


# --- dashboard -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_every_staff_role_has_the_dashboard(people, role):
    assert client_for(people[role]).get(reverse("dashboard")).status_code == 200


def test_the_dashboard_shows_receivables_runs_and_what_needs_attention(people, invoices, collections_history):
    body = client_for(people["collections"]).get(reverse("dashboard")).content.decode()
    # Open AR: 1000 + 2500 + 800 + 1280 = 5580; overdue on 2026-10-20: all but the invoice due 10-31.
    assert 'data-testid="open-ar">¥5,580.00<' in body
    assert 'data-testid="overdue">¥4,300.00<' in body
    assert "<svg" in body and body.count('<g class="bar ') == 5 and "<script" not in body
    assert "operator answered 503: try later" in body  # the failing operator request and its error
    assert "First requested" in body and "2026-10-20 09:00" in body  # queued then (Beijing time)
    assert "Acme 上海" in body and acme_invoice_number(collections_history) in body  # the call to make
    assert "2026-10-19" in body  # the last run
    assert reverse("report_aging_csv") in body


def test_collections_staff_try_the_failing_operator_requests_again(people, collections_history, operator,
                                                                    django_capture_on_commit_callbacks):
    for role in ["billing_agent", "finance", "auditor"]:
        assert client_for(people[role]).post(reverse("operator_requests_retry")).status_code == 403
    page = client_for(people["collections"]).get(reverse("dashboard")).content.decode()
    assert reverse("operator_requests_retry") in page and "Try them again now" in page
    assert reverse("operator_requests_retry") not in client_for(people["finance"]).get(reverse("dashboard")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the worker's turn
        response = client_for(people["collections"]).post(reverse("operator_requests_retry"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard") + "#operator-requests"
    request = OperatorRequest.objects.get()
    # Acme owes nothing overdue on 20 October: once tried again, the suspension is no longer wanted.
    assert request.status == "skipped" and request.last_error == "nothing overdue any more"
    assert "1 request is being tried again. If it fails again, it stays listed here." in response.content.decode()
    assert "No operator request is failing." in client_for(people["collections"]).get(reverse("dashboard")).content.decode()
    entry = AuditEntry.objects.get(action="operator_request.retried")
    assert entry.actor == people["collections"] and entry.customer == request.customer

    again = client_for(people["collections"], language="zh-hans").post(reverse("operator_requests_retry"), follow=True)
    assert "没有等待重试的运营方请求。" in again.content.decode()


def acme_invoice_number(sub):
    return Invoice.objects.filter(customer=sub.customer, due_date=dt.date(2026, 10, 31)).get().number


def test_customer_users_get_no_staff_collections_pages(people, acme):
    c = client_for(people["acme_user"])
    for name, args in [("dashboard", []), ("collections_preview", []), ("collections_runs", []), ("policy_list", []),
                       ("policy_detail", [CollectionsPolicy.objects.get().pk]), ("report_aging", []),
                       ("report_collections", [])]:
        assert c.get(reverse(name, args=args)).status_code == 403, name


# --- preview and runs ------------------------------------------------------------------------------------------


def test_the_preview_shows_what_the_next_days_would_do_per_customer(people, acme_oct31, globex):
    c = client_for(people["billing_agent"])
    body = c.get(reverse("collections_preview"), {"days": 10}).content.decode()
    assert "Acme 上海" in body and acme_oct31.number in body
    assert "2026-10-28" in body and "Reminder" in body and "Globex" not in body
    assert acme_oct31.number not in c.get(reverse("collections_preview"), {"days": 7}).content.decode()
    bad = c.get(reverse("collections_preview"), {"days": 500})
    assert bad.status_code == 200 and "Ensure this value is less than or equal to 60" in bad.content.decode()


def test_the_preview_shows_the_data_deletion_warnings_to_come(people, acme, acme_subscriptions, frozen):
    from partnerdesk.customers.services import suspend_subscription
    from partnerdesk.dunning import engine

    sub = suspend_subscription(acme_subscriptions["sub-acme-e3"], actor=None, reason_code="non_payment", reason="overdue")
    assert sub.data_deletion_date == dt.date(2026, 12, 19)  # suspended 20 October: warnings 45 and 55 days on
    warnings = [i for i in engine.preview(dt.date(2026, 10, 20), 60) if i.actions == ["deletion_warning"]]
    assert [(i.date, i.invoice_number) for i in warnings] == [(dt.date(2026, 12, 4), str(sub)), (dt.date(2026, 12, 14), str(sub))]
    assert not [i for i in engine.preview(dt.date(2026, 10, 20), 44) if i.actions == ["deletion_warning"]]
    # Once the run has sent the first, the preview shows only the second.
    CollectionsAction.objects.create(key=f"sub:{sub.pk}:deletion:45:2026-10-20", customer=acme, subscription=sub,
                                     kind=ActionKind.DELETION_WARNING, as_of=dt.date(2026, 12, 4))
    assert [i.date for i in engine.preview(dt.date(2026, 10, 20), 60) if i.actions == ["deletion_warning"]] == [
        dt.date(2026, 12, 14)]
    body = client_for(people["collections"], language="zh-hans").get(reverse("collections_preview"), {"days": 60}).content.decode()
    assert "2026-12-14" in body and "数据删除警告" in body and str(sub) in body
    # On the customer page, an invoice past its last stage, with its subscriptions suspended, says what comes next.
    invoice = make_invoice(acme, "300.00", issue_date=dt.date(2026, 8, 1), due_date=dt.date(2026, 8, 31))
    Invoice.objects.filter(pk=invoice.pk).update(collections_stage=5)
    page = client_for(people["collections"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    row = page[page.index(invoice.number):][:1500]
    assert "Data deletion warning · <strong>2026-12-14</strong>" in row


def test_running_collections_now_needs_collections_manage_and_confirms_first(people, frozen):
    confirm = client_for(people["collections"]).get(reverse("collections_run_now"))
    assert confirm.status_code == 200 and "Nothing is due today." in confirm.content.decode()
    assert not CollectionsRun.objects.exists()
    for role in ["billing_agent", "finance", "auditor"]:
        assert client_for(people[role]).post(reverse("collections_run_now")).status_code == 403
        assert client_for(people[role]).get(reverse("collections_run_now")).status_code == 403
    response = client_for(people["collections"]).post(reverse("collections_run_now"), follow=True)
    run = CollectionsRun.objects.get()
    assert run.as_of == dt.date(2026, 10, 20) and run.status == "finished"
    body = response.content.decode()
    assert "Collections run for 2026-10-20 finished: nothing was due." in body
    assert response.redirect_chain[-1][0] == reverse("collections_runs")


# --- policies --------------------------------------------------------------------------------------------------


@pytest.fixture
def standard():
    return CollectionsPolicy.objects.get(is_default=True)


def edit_data(policy, **changes):
    """The edit form as the browser would send it for the policy as it is, with changes."""
    stages = list(policy.stages.order_by("position"))
    data = {"policy-name": policy.name, "policy-description": policy.description, "policy-is_default": "on",
            "policy-min_overdue_amount": "0.00", "policy-grace_days": "0", "policy-invoice_scope": "all_open",
            "policy-deletion_warning_days": "45, 55", "policy-reason": "Quarterly review",
            "stages-TOTAL_FORMS": str(len(stages) + 1), "stages-INITIAL_FORMS": str(len(stages)),
            "stages-MIN_NUM_FORMS": "0", "stages-MAX_NUM_FORMS": "20"}
    for i, s in enumerate(stages):
        data.update({f"stages-{i}-id": str(s.pk), f"stages-{i}-policy": str(policy.pk), f"stages-{i}-name": s.name,
                     f"stages-{i}-offset_days": str(s.offset_days), f"stages-{i}-day_kind": s.day_kind,
                     f"stages-{i}-template_key": s.template_key, f"stages-{i}-suspend_scope": s.suspend_scope})
        for flag in ["send_notice", "call_task", "suspend", "cancel"]:
            if getattr(s, flag):
                data[f"stages-{i}-{flag}"] = "on"
    n = len(stages)
    data.update({f"stages-{n}-policy": str(policy.pk), f"stages-{n}-day_kind": "calendar",
                 f"stages-{n}-template_key": "collections.notice", f"stages-{n}-suspend_scope": "all",
                 f"stages-{n}-send_notice": "on", f"stages-{n}-name": "", f"stages-{n}-offset_days": ""})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_policy_list_and_detail(people, standard):
    c = client_for(people["auditor"])
    assert "Standard" in c.get(reverse("policy_list")).content.decode()
    body = c.get(reverse("policy_detail", args=[standard.pk])).content.decode()
    assert "21 days after the due date" in body and "Edit policy" not in body


@pytest.mark.parametrize("role", ["billing_agent", "collections", "finance", "auditor"])
def test_only_admins_edit_policies(people, standard, role):
    c = client_for(people[role])
    assert c.get(reverse("policy_edit", args=[standard.pk])).status_code == 403
    assert c.post(reverse("policy_edit", args=[standard.pk]), edit_data(standard)).status_code == 403
    assert c.post(reverse("policy_copy", args=[standard.pk])).status_code == 403


def test_an_admin_edits_the_stages_and_the_version_goes_up(people, standard, acme_oct31):
    # The invoice has had its first notice (+1) when a stage is inserted at +3 and the +7 notice removed.
    Invoice.objects.filter(pk=acme_oct31.pk).update(collections_stage=2)
    second = standard.stages.get(offset_days=7)
    index = list(standard.stages.order_by("position")).index(second)
    data = edit_data(standard, **{"stages-5-name": "Friendly call", "stages-5-offset_days": "3",
                                  "stages-5-call_task": "on", "stages-5-send_notice": None,
                                  f"stages-{index}-DELETE": "on", "policy-grace_days": "2"})
    response = client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]), data, follow=True)
    assert response.status_code == 200, response.content.decode()
    assert "saved as version 2" in response.content.decode()
    standard.refresh_from_db()
    assert standard.version == 2 and standard.grace_days == 2
    assert [(s.position, s.name, s.offset_days) for s in standard.stages.order_by("position")] == [
        (1, "Reminder", -3), (2, "First notice", 1), (3, "Friendly call", 3), (4, "Final notice", 14), (5, "Suspension", 21)]
    acme_oct31.refresh_from_db()
    assert acme_oct31.collections_stage == 2  # still "first notice done": the new call at +3 is still ahead
    entry = AuditEntry.objects.get(action="collections.policy_changed")
    assert entry.actor == people["admin"] and entry.reason == "Quarterly review"
    assert entry.before["version"] == 1 and entry.after["version"] == 2 and len(entry.after["stages"]) == 5


def test_removing_a_stage_keeps_invoices_in_place(people, standard, acme_oct31):
    Invoice.objects.filter(pk=acme_oct31.pk).update(collections_stage=4)  # final notice (+14) done
    index = [s.offset_days for s in standard.stages.order_by("position")].index(7)
    client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]),
                                     edit_data(standard, **{f"stages-{index}-DELETE": "on"}))
    acme_oct31.refresh_from_db()
    assert standard.stages.count() == 4
    assert acme_oct31.collections_stage == 3  # the final notice is now stage 3; the suspension (4) still comes


@pytest.mark.parametrize("changes, field, message", [
    ({"stages-1-offset_days": "-3"}, "stages-1-offset_days", "Another stage already falls on this day."),
    ({"stages-4-offset_days": "0"}, "stages-4-suspend", "Subscriptions can only be suspended after the due date."),
    ({"stages-0-offset_days": "-500"}, "stages-0-offset_days", "Between -60 and 365 days."),
    ({"policy-deletion_warning_days": "45, 75"}, "policy-deletion_warning_days", "Each day must be between 1 and 59."),
    ({"policy-min_overdue_amount": "-5"}, "policy-min_overdue_amount", "The amount cannot be negative."),
    ({"policy-is_default": None}, "policy-is_default", "There must be a default policy"),
    ({"policy-reason": ""}, "policy-reason", "This field is required."),
    ({"stages-0-send_notice": None}, "stages-0", "A stage must do something"),
])
def test_policy_edit_errors_show_on_their_fields(people, standard, changes, field, message):
    response = client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]), edit_data(standard, **changes))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    standard.refresh_from_db()
    assert standard.version == 1 and not AuditEntry.objects.filter(action="collections.policy_changed").exists()


def test_removing_every_stage_is_refused(people, standard):
    deletes = {f"stages-{i}-DELETE": "on" for i in range(standard.stages.count())}
    body = client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]),
                                            edit_data(standard, **deletes)).content.decode()
    assert "A policy needs at least one stage." in body
    assert standard.stages.count() == 5


def test_copying_a_policy_and_giving_it_to_a_customer(people, standard, acme):
    admin = client_for(people["admin"])
    response = admin.post(reverse("policy_copy", args=[standard.pk]))
    copy = CollectionsPolicy.objects.get(name="Standard (copy)")
    assert response["Location"] == reverse("policy_edit", args=[copy.pk])
    assert not copy.is_default and copy.stages.count() == 5
    response = client_for(people["collections"]).post(
        reverse("collections_profile", args=[acme.pk]), {"profile-mode": "policy", "profile-policy": str(copy.pk)})
    assert response.status_code == 302
    assert CollectionsProfile.objects.get(customer=acme).policy == copy


# --- a customer's collections section ------------------------------------------------------------------------


def test_the_customer_page_shows_stage_next_action_log_and_operator_errors(people, acme, collections_history):
    body = client_for(people["finance"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert 'id="collections"' in body and "Standard" in body
    assert "Reminder · <strong>2026-10-28</strong>" in body  # next action of the invoice due 10-31
    assert "2026-11-21" in body and "2027-01-20" in body  # its suspension and data deletion
    assert "Reminder sent" in body and "Payment reminder" in body  # the collections log names the email sent
    assert "operator answered 503: try later" in body and "3 failed attempts" in body
    # finance may look but not act
    assert "Open a dispute" not in body and "Record a promise to pay" not in body
    CollectionsAction.objects.create(key="t:suspended", customer=acme, subscription=collections_history,
                                     kind=ActionKind.SUSPENDED, as_of=dt.date(2026, 10, 20),
                                     detail={"reason": "Non-payment: invoice INV-2026-000007 unpaid 21 days after its due date"})
    body = client_for(people["finance"], language="zh-hans").get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "付款提醒" in body and "collections.reminder" not in body
    assert "未付款：发票 INV-2026-000007 在到期日后 21 天仍未支付" in body


def test_opening_and_resolving_a_dispute(people, acme, acme_oct31):
    c = client_for(people["billing_agent"])
    bad = c.post(reverse("dispute_open", args=[acme.pk]), {"dispute-invoice": acme_oct31.pk, "dispute-reason": ""})
    assert bad.status_code == 200 and "This field is required." in bad.content.decode()
    response = c.post(reverse("dispute_open", args=[acme.pk]),
                      {"dispute-invoice": acme_oct31.pk, "dispute-reason": "Seat count is wrong"}, follow=True)
    dispute = Dispute.objects.get()
    assert dispute.status == HoldStatus.OPEN and dispute.invoice == acme_oct31
    body = response.content.decode()
    assert "Dispute opened on" in body and "Collections on hold" in body
    response = c.post(reverse("dispute_resolve", args=[acme.pk, dispute.pk]),
                      {f"resolve-{dispute.pk}-resolution": "Credit note for 2 seats"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == HoldStatus.RESOLVED and dispute.resolution == "Credit note for 2 seats"


def test_dispute_permissions_and_another_customers_dispute(people, acme, globex, acme_oct31):
    for role in ["finance", "auditor"]:
        assert client_for(people[role]).post(reverse("dispute_open", args=[acme.pk]),
                                             {"dispute-invoice": acme_oct31.pk, "dispute-reason": "x"}).status_code == 403
    with transaction.atomic():
        dispute = open_dispute(invoice=acme_oct31, reason="Wrong price", actor=None)
    # Through another customer's URL, the dispute is not found.
    assert client_for(people["admin"]).post(reverse("dispute_resolve", args=[globex.pk, dispute.pk]),
                                            {f"resolve-{dispute.pk}-resolution": "x"}).status_code == 404


def test_recording_a_promise_to_pay(people, acme, acme_oct31):
    c = client_for(people["collections"])
    bad = c.post(reverse("promise_add", args=[acme.pk]), {"promise-amount": "abc", "promise-promised_date": "2026-10-01"})
    body = bad.content.decode()
    assert "Enter an amount such as 1234.50." in body and "The promised date is in the past." in body
    response = c.post(reverse("promise_add", args=[acme.pk]),
                      {"promise-amount": "1,280.00", "promise-promised_date": "2026-11-05", "promise-note": "CFO call"})
    assert response.status_code == 302
    promise = PromiseToPay.objects.get()
    assert str(promise.amount) == "1280.00" and promise.promised_date == dt.date(2026, 11, 5)
    assert client_for(people["billing_agent"]).post(
        reverse("promise_add", args=[acme.pk]), {"promise-amount": "1", "promise-promised_date": "2026-11-05"}).status_code == 403


def test_exempting_a_customer_needs_a_reason(people, acme, acme_oct31):
    c = client_for(people["collections"])
    bad = c.post(reverse("collections_profile", args=[acme.pk]), {"profile-mode": "exempt", "profile-reason": " "})
    assert "Give the reason for the exemption." in bad.content.decode()
    c.post(reverse("collections_profile", args=[acme.pk]), {"profile-mode": "exempt", "profile-reason": "Government account"})
    profile = CollectionsProfile.objects.get(customer=acme)
    assert profile.exempt and profile.exempt_reason == "Government account"
    body = c.get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "Exempt from collections" in body and "Government account" in body
    assert AuditEntry.objects.filter(action="collections.profile_changed", customer=acme).exists()
    c.post(reverse("collections_profile", args=[acme.pk]), {"profile-mode": "default"})
    profile.refresh_from_db()
    assert not profile.exempt and profile.policy is None
    assert client_for(people["billing_agent"]).post(reverse("collections_profile", args=[acme.pk]),
                                                    {"profile-mode": "default"}).status_code == 403


def test_making_another_policy_the_default(people, standard):
    from partnerdesk.dunning.policy_editing import copy_policy

    with transaction.atomic():
        copy = copy_policy(standard, actor=people["admin"])
    data = edit_data(copy, **{"policy-name": "Strict", "policy-is_default": "on"})
    for key in list(data):
        if key.startswith("stages-") and key.endswith("-policy"):
            data[key] = str(copy.pk)
    response = client_for(people["admin"]).post(reverse("policy_edit", args=[copy.pk]), data)
    assert response.status_code == 302
    standard.refresh_from_db()
    copy.refresh_from_db()
    assert copy.is_default and copy.name == "Strict" and not standard.is_default


def test_a_new_version_asks_the_customer_to_acknowledge_again(people, standard, acme, acme_oct31):
    portal = client_for(people["acme_user"])
    portal.post(reverse("portal_collections_policy_acknowledge"))
    client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]),
                                     edit_data(standard, **{"policy-grace_days": "3"}))
    body = portal.get(reverse("portal_collections_policy")).content.decode()
    assert "Version 1 was acknowledged on 2026-10-20; the policy has changed since" in body
    assert "I acknowledge this collections policy" in body
    assert "The days after the due date include a grace period of 3 days." in body
    assert "2026-11-24" in body  # suspension: 21 + 3 days after 2026-10-31


def test_moving_the_suspension_later_keeps_invoices_that_were_suspended_at_suspension(people, standard, acme_oct31):
    Invoice.objects.filter(pk=acme_oct31.pk).update(collections_stage=5)  # suspension (+21) done
    index = [s.offset_days for s in standard.stages.order_by("position")].index(21)
    client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]),
                                     edit_data(standard, **{f"stages-{index}-offset_days": "70"}))
    assert standard.stages.get(position=5).offset_days == 70
    acme_oct31.refresh_from_db()
    assert acme_oct31.collections_stage == 5  # not back at "final notice", to be suspended again at +70


def test_moving_a_notice_past_the_suspension_leaves_the_suspension_ahead(people, standard, acme_oct31):
    Invoice.objects.filter(pk=acme_oct31.pk).update(collections_stage=4)  # final notice (+14) done
    index = [s.offset_days for s in standard.stages.order_by("position")].index(14)
    client_for(people["admin"]).post(reverse("policy_edit", args=[standard.pk]),
                                     edit_data(standard, **{f"stages-{index}-offset_days": "30"}))
    assert [s.offset_days for s in standard.stages.order_by("position")] == [-3, 1, 7, 21, 30]
    acme_oct31.refresh_from_db()
    assert acme_oct31.collections_stage == 3  # the suspension, now before the final notice, still comes
