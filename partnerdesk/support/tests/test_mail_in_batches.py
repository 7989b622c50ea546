"""Email in by the batch (the IMAP fetcher, the CLI): a batch files each message as ingest() would, in one
transaction, and a message that cannot be filed sets back no other. And the SLA targets email in keeps in
memory follow every change made to them."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.support import services, sla
from partnerdesk.support.desk_settings import replace_sla_policies
from partnerdesk.support.mail.filing import ingest, ingest_many
from partnerdesk.support.models import (
    Case,
    CaseMessage,
    InboundMail,
    MailStatus,
    SlaClock,
    SlaPolicy,
    SlaTarget,
)

from .test_mail_in import raw_mail


@pytest.fixture
def contact(customer_a):
    return customer_a.contacts.first()


def test_a_batch_files_new_cases_replies_and_strangers_as_one_by_one(contact):
    first = ingest(raw_mail(sender=contact.email, subject="发票金额", message_id="<q1@client.example.cn>"),
                   source="imap")
    case = first.case
    raws = [
        raw_mail(sender=contact.email, subject=f"回复：[#{case.token}] 发票金额", body="补充：金额是 1200 元。"),
        raw_mail(sender=contact.email, subject="另一个问题", body="请问如何开具专票？"),
        raw_mail(sender="nobody@qq.com", subject="你好", body="请联系我"),
        raw_mail(sender=contact.email, subject="Re: 发票金额", body="谢谢",
                 headers={"In-Reply-To": "<q1@client.example.cn>"}),
    ]

    rows = ingest_many(raws, source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED, MailStatus.FILED, MailStatus.UNMATCHED, MailStatus.FILED]
    assert all(m.is_new for m in rows) and InboundMail.objects.count() == 5
    assert rows[0].case == rows[3].case == case and rows[1].case != case
    assert case.messages.filter(direction="inbound").count() == 3
    # Each message has its audit entry and the new case its acknowledgement and clocks, as with ingest().
    assert AuditEntry.objects.filter(action="mail.received").count() == 5
    assert OutboundEmail.objects.filter(template_key="support.acknowledgement").count() == 2
    assert SlaClock.objects.filter(case=rows[1].case).count() == 2


def test_a_batch_files_each_message_once(contact):
    raw = raw_mail(sender=contact.email, subject="两次", message_id="<twice@client.example.cn>")
    before = ingest(raw_mail(sender=contact.email), source="imap")

    rows = ingest_many([raw, raw, raw.replace(b"From:", b"Received: from relay2\r\nFrom:", 1),
                        ingest_raw(before)], source="imap")

    assert [m.is_new for m in rows] == [True, False, False, False]
    assert rows[0].pk == rows[1].pk == rows[2].pk and rows[3].pk == before.pk
    assert InboundMail.objects.count() == 2 and Case.objects.count() == 2


def ingest_raw(mail: InboundMail) -> bytes:
    with mail.raw.open("rb") as f:
        return f.read()


def test_a_message_that_cannot_be_filed_is_kept_and_the_rest_of_its_batch_filed(contact, monkeypatch):
    from partnerdesk.support.mail import filing

    real = filing.services.open_case

    def broken(**kwargs):
        if "坏" in kwargs["subject"]:
            raise RuntimeError("a bug in the rules")
        return real(**kwargs)

    monkeypatch.setattr(filing.services, "open_case", broken)  # a bug for one message, not a mocked part
    rows = ingest_many([raw_mail(sender=contact.email, subject="好的问题"),
                        raw_mail(sender=contact.email, subject="坏的问题"),
                        raw_mail(sender=contact.email, subject="另一个好的问题")], source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED, MailStatus.MALFORMED, MailStatus.FILED]
    assert "a bug in the rules" in rows[1].problem
    assert Case.objects.count() == 2 and InboundMail.objects.count() == 3
    assert CaseMessage.objects.filter(inbound_mail=rows[1]).count() == 0
    assert AuditEntry.objects.filter(action="mail.received").count() == 3


def test_the_cli_and_the_fetcher_file_in_batches(contact, tmp_path):
    from django.core.management import call_command

    for i in range(3):
        (tmp_path / f"{i}.eml").write_bytes(raw_mail(sender=contact.email, subject=f"问题 {i}"))
    call_command("support", "ingest", str(tmp_path))
    call_command("support", "ingest", str(tmp_path))

    assert InboundMail.objects.count() == 3 and Case.objects.count() == 3


# --- the SLA targets email in keeps in memory ------------------------------------------------------------------


def _target(severity="C", case_type="billing_question") -> int:
    return sla.cached_policy_for(severity, case_type).first_response_minutes


def _policy(severity="C", minutes=60, **extra) -> dict:
    return {"severity": severity, "first_response_minutes": minutes, "next_response_minutes": minutes,
            "resolution_minutes": minutes * 10, **extra}


def test_cached_targets_follow_a_replacement_saved_in_bulk(db, users):
    assert _target() == sla.DEFAULT_TARGETS["C"]["first_response"]  # read and kept

    with transaction.atomic():
        replace_sla_policies(policies=[_policy(minutes=60)], actor=users["admin"])  # bulk_create: no signal
        assert _target() == 60  # inside the transaction of the change: read from the database

    assert _target() == 60
    replace_sla_policies(policies=[_policy(minutes=90, type="billing_question")], actor=users["admin"])
    assert _target() == 90 and _target(case_type="technical") == sla.DEFAULT_TARGETS["C"]["first_response"]


def test_cached_targets_follow_a_row_saved_or_deleted_and_forget_a_rolled_back_change(db):
    row = SlaPolicy.objects.create(severity="C", first_response_minutes=30, next_response_minutes=30,
                                   resolution_minutes=300)
    assert _target() == 30
    row.first_response_minutes = 45
    row.save()
    assert _target() == 45

    with pytest.raises(RuntimeError), transaction.atomic():
        SlaPolicy.objects.filter(pk=row.pk).delete()
        assert _target() == sla.DEFAULT_TARGETS["C"]["first_response"]
        raise RuntimeError("rolled back")
    assert _target() == 45

    row.delete()
    assert _target() == sla.DEFAULT_TARGETS["C"]["first_response"]


def test_a_case_opened_by_mail_gets_the_targets_just_saved(contact, users):
    ingest(raw_mail(sender=contact.email, subject="先开一个"), source="imap")  # the targets are now cached
    replace_sla_policies(policies=[_policy(minutes=120)], actor=users["admin"])

    mail = ingest(raw_mail(sender=contact.email, subject="再开一个"), source="imap")

    clock = SlaClock.objects.get(case=mail.case, target=SlaTarget.FIRST_RESPONSE)
    assert clock.target_minutes == 120


def test_targets_saved_by_another_process_show_within_the_cache_time(db, monkeypatch):
    assert _target() == sla.DEFAULT_TARGETS["C"]["first_response"]
    # Another process's change sends no signal here: as if it were written behind this process's back.
    SlaPolicy.objects.bulk_create([SlaPolicy(severity="C", first_response_minutes=15, next_response_minutes=15,
                                             resolution_minutes=150)])
    assert _target() == sla.DEFAULT_TARGETS["C"]["first_response"]

    later = sla.time.monotonic() + sla.POLICY_CACHE_SECONDS + 1
    monkeypatch.setattr(sla.time, "monotonic", lambda: later)
    assert _target() == 15


@pytest.fixture(autouse=True)
def _fresh_caches():
    sla.forget_policies()
    services.forget_desk_settings()
    yield
    sla.forget_policies()


def test_replies_in_a_batch_keep_the_clocks_of_each_case(contact):
    first = ingest(raw_mail(sender=contact.email, subject="时钟", message_id="<clock@client.example.cn>"),
                   source="imap")
    case = first.case
    services.reply(case=case, body="已收到，正在核实。", actor=None, now=timezone.now() - dt.timedelta(minutes=5))

    rows = ingest_many([raw_mail(sender=contact.email, subject=f"Re: [#{case.token}] 时钟", body=f"第{i}次")
                        for i in range(2)], source="imap")

    assert {m.status for m in rows} == {MailStatus.FILED}
    running = SlaClock.objects.filter(case=case, target=SlaTarget.NEXT_RESPONSE, met_at__isnull=True)
    assert running.count() == 1  # one next-response clock for both, as with two messages one by one
    case.refresh_from_db()
    assert case.next_deadline_at is not None and case.last_customer_message_at is not None
