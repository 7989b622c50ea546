"""Email in by the batch asks the database once for all its messages (mail.batch) and, on PostgreSQL, writes a
message's rows with the batch's next statement (statements.deferred): what one message of a batch does is seen by
the next ones, exactly as if they came one by one."""

import pytest

from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.support import fulltext, services, statements
from partnerdesk.support.mail.filing import ingest, ingest_many
from partnerdesk.support.models import (
    Case,
    CaseMessage,
    CaseStatus,
    InboundMail,
    MailStatus,
    SlaClock,
    SlaTarget,
)

from .test_mail_in import raw_mail


@pytest.fixture
def contact(customer_a):
    return customer_a.contacts.first()


def test_a_batch_threads_its_later_messages_onto_a_case_it_opened(contact):
    rows = ingest_many([
        raw_mail(sender=contact.email, subject="批内新问题", message_id="<open-in-batch@client.example.cn>"),
        raw_mail(sender=contact.email, subject="Re: 批内新问题", body="补充一句（没有回复头）"),
        raw_mail(sender=contact.email, subject="另一个标题", body="按回复头归档",
                 headers={"In-Reply-To": "<open-in-batch@client.example.cn>"}),
    ], source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED] * 3
    case = rows[0].case
    assert rows[1].case == rows[2].case == case
    assert case.messages.filter(direction="inbound").count() == 3
    assert Case.objects.count() == 1
    assert OutboundEmail.objects.filter(template_key="support.acknowledgement").count() == 1


def test_the_flood_guard_counts_the_cases_its_own_batch_opened(contact):
    desk = services.desk_settings()
    desk.max_cases_per_sender_hour = 2
    desk.save()

    rows = ingest_many([raw_mail(sender=contact.email, subject=f"问题{i}", body=f"第{i}个问题") for i in range(3)],
                       source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED, MailStatus.FILED, MailStatus.HELD]
    assert Case.objects.filter(customer=contact.customer).count() == 2


def test_a_waiting_case_answered_twice_in_a_batch_reopens_once_with_its_clocks_right(contact):
    case = ingest(raw_mail(sender=contact.email, subject="等待中"), source="imap").case
    services.reply(case=case, body="请提供发票号。", actor=None, status=CaseStatus.WAITING_CUSTOMER)
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_CUSTOMER

    rows = ingest_many([raw_mail(sender=contact.email, subject=f"Re: [#{case.token}] 等待中", body=f"第{i}次答复")
                        for i in range(2)], source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED] * 2
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    running = SlaClock.objects.filter(case=case, met_at__isnull=True, cancelled=False)
    assert running.filter(target=SlaTarget.NEXT_RESPONSE).count() == 1
    assert not running.filter(running_since__isnull=True).exists()  # every paused clock runs again
    assert case.next_deadline_at == min(c.deadline_at for c in running)
    assert case.last_customer_message_at == max(m.created_at for m in case.messages.filter(direction="inbound"))


def test_what_a_batch_filed_is_found_by_search(contact):
    rows = ingest_many([raw_mail(sender=contact.email, subject=f"搜索批次{word}", body=f"批量写入的索引词甲乙{word}")
                        for word in ("一", "二")], source="imap")

    found = fulltext.matching_case_ids("索引词甲乙", customer_id=None, include_internal=True, limit=10)
    assert set(found) == {m.case_id for m in rows} and len(found) == 2


def test_a_write_that_fails_after_its_message_rolls_the_batch_back_and_it_is_filed_one_by_one(contact, monkeypatch):
    # On PostgreSQL the message's row is written with the batch's next statement: its failure shows there, and must
    # still cost only that message.
    insert = statements.insert

    def broken(obj):
        if isinstance(obj, CaseMessage) and "BROKEN" in obj.body:
            obj.kind = None  # NOT NULL: refused by the database
        insert(obj)

    monkeypatch.setattr(statements, "insert", broken)
    case = ingest(raw_mail(sender=contact.email, subject="回滚"), source="imap").case
    rows = ingest_many([
        raw_mail(sender=contact.email, subject=f"Re: [#{case.token}] 回滚", body="第一封"),
        raw_mail(sender=contact.email, subject=f"Re: [#{case.token}] 回滚", body="BROKEN"),
        raw_mail(sender=contact.email, subject=f"Re: [#{case.token}] 回滚", body="第三封"),
    ], source="imap")

    assert [m.status for m in rows] == [MailStatus.FILED, MailStatus.MALFORMED, MailStatus.FILED]
    assert InboundMail.objects.count() == 4
    assert sorted(case.messages.filter(direction="inbound").values_list("body", flat=True)) == sorted(
        [case.messages.order_by("id").first().body, "第一封", "第三封"])
