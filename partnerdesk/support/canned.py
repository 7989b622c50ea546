"""Canned replies: the built-in set per language, and the replies an agent may pick for a case.

Creating, changing and deleting one is an administrator's change to the desk and lives with the desk's other
settings (support.desk_settings: create_canned_reply, update_canned_reply, delete_canned_reply, audited).
Filling one with a customer's figures: support.figures.render_canned.
"""

from django.db import transaction
from django.utils import timezone

from partnerdesk.audit.services import record, snapshot

from .models import CannedReply

CANNED_FIELDS = ["title", "language", "body", "is_active"]

# (title, body) per language. Placeholders: support.figures.canned_values. No greeting or signature: the reply
# email (support.reply) adds both.
DEFAULT_CANNED_REPLIES = {
    "zh-CN": [
        ("账户余额与逾期金额", """截至今日，贵司账户的未结余额为 {currency} {balance}，其中已逾期 {currency} {overdue}。最早逾期的发票是 {oldest_overdue_invoice}。

付款时请在附言中注明发票编号，以便我们及时核销。如您已经付款，请回复本邮件并附上付款凭证。"""),
        ("逾期付款与后续催收安排", """贵司目前有 {currency} {overdue} 已逾期（最早逾期的发票：{oldest_overdue_invoice}）。如仍未付款，根据我们公布的催收政策，下一步将于 {next_collections_date} 进行；订阅将于 {suspension_date} 暂停。

为避免服务受到影响，请尽快安排付款。如对账单有疑问或需要付款计划，请直接回复本邮件。"""),
        ("订阅已暂停：恢复方法与数据删除日期", """由于账款逾期，贵司的订阅已于 {suspension_date} 暂停。暂停期间用户无法登录和使用服务，管理员仍可访问数据。

付清逾期金额 {currency} {overdue} 后，我们会立即申请恢复服务。请注意：如订阅在 {deletion_date} 前仍未恢复，世纪互联将删除其全部数据，且无法恢复。"""),
        ("已收到付款", """感谢您的付款，我们已核销到贵司账户。目前账户未结余额为 {currency} {balance}。

如有其他问题，欢迎随时回复本邮件（工单 {case_token}）。"""),
    ],
    "zh-TW": [
        ("帳戶餘額與逾期金額", """截至今日，貴公司帳戶的未結餘額為 {currency} {balance}，其中已逾期 {currency} {overdue}。最早逾期的發票是 {oldest_overdue_invoice}。

付款時請於附言註明發票號碼，以便我們及時沖銷。如您已經付款，請回覆本郵件並附上付款憑證。"""),
        ("逾期付款與後續催收安排", """貴公司目前有 {currency} {overdue} 已逾期（最早逾期的發票：{oldest_overdue_invoice}）。如仍未付款，依我們公布的催收政策，下一步將於 {next_collections_date} 進行；訂閱將於 {suspension_date} 暫停。

為避免服務受到影響，請儘快安排付款。如對帳單有疑問或需要付款計畫，請直接回覆本郵件。"""),
        ("訂閱已暫停：恢復方式與資料刪除日期", """由於帳款逾期，貴公司的訂閱已於 {suspension_date} 暫停。暫停期間使用者無法登入和使用服務，管理員仍可存取資料。

付清逾期金額 {currency} {overdue} 後，我們會立即申請恢復服務。請注意：如訂閱在 {deletion_date} 前仍未恢復，世紀互聯將刪除其全部資料，且無法復原。"""),
        ("已收到付款", """感謝您的付款，我們已沖銷至貴公司帳戶。目前帳戶未結餘額為 {currency} {balance}。

如有其他問題，歡迎隨時回覆本郵件（案件 {case_token}）。"""),
    ],
    "en": [
        ("Balance and overdue amount", """As of today your account's open balance is {currency} {balance}, of which {currency} {overdue} is overdue. The oldest overdue invoice is {oldest_overdue_invoice}.

Please quote the invoice number as the payment reference so that we can match your payment. If you have already paid, reply to this email with the payment slip."""),
        ("Overdue payment and the next collections step", """{currency} {overdue} is overdue on your account (oldest overdue invoice: {oldest_overdue_invoice}). If it stays unpaid, the next step of our published collections policy is on {next_collections_date}, and your subscriptions will be suspended on {suspension_date}.

To keep your service running, please pay as soon as you can. If you have a question about the bill or need a payment plan, reply to this email."""),
        ("Subscriptions suspended: how to restore them, and when data is deleted", """Because of the overdue balance, your subscriptions were suspended on {suspension_date}. While suspended, your users cannot sign in or use the service; administrators can still reach the data.

Once the overdue amount of {currency} {overdue} is paid we ask for reactivation at once. Please note: if a subscription is not reactivated by {deletion_date}, 21Vianet deletes all its data, and it cannot be recovered."""),
        ("Payment received", """Thank you for your payment; it is applied to your account. Your open balance is now {currency} {balance}.

If you have any other question, just reply to this email (case {case_token})."""),
    ],
}


def canned_replies_for(language: str):
    """The active canned replies an agent may use on a case in this language."""
    return CannedReply.objects.filter(language=language, is_active=True).order_by("title")


@transaction.atomic
def ensure_default_canned_replies(*, actor=None) -> int:
    """Create the built-in canned replies that are missing (by title and language); an administrator's edits
    are left alone. Returns how many were created. Used by the demo loader and by tests."""
    existing = set(CannedReply.objects.values_list("title", "language"))
    created = 0
    now = timezone.now()
    for language, replies in DEFAULT_CANNED_REPLIES.items():
        for title, body in replies:
            if (title, language) in existing:
                continue
            reply = CannedReply.objects.create(title=title, language=language, body=body, updated_at=now)
            record(actor=actor, action="support.canned_reply_created", obj=reply,
                   after=snapshot(reply, CANNED_FIELDS), reason="built-in canned replies")
            created += 1
    return created
