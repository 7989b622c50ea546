"""The built-in email templates, in Simplified Chinese, Traditional Chinese and English.

An administrator may replace any of them (EmailTemplate); these are what a customer gets otherwise.
Templates use Django's template syntax and render as plain text (no HTML escaping).

Context variables the senders pass (all optional; a template shows what it needs):

    customer_name     the customer's company name
    invoice_number    e.g. "INV-2026-000123"
    amount_due        decimal string, e.g. "12800.00" (shown as "12,800.00")
    currency          ISO code, e.g. "CNY"
    due_date          ISO date "2026-11-24" (shown as 2026年11月24日 / 24 Nov 2026)
    days_overdue      whole number of days
    suspension_date   ISO date: when the subscriptions were (or will be) suspended
    deletion_date     ISO date: when the operator deletes the data of a still-suspended subscription
    subscriptions     list of subscription names
    partner_name      the partner's name        } filled from settings.NOTIFICATIONS when not passed
    support_email     where to write for help   }
    support_hours     when support answers      }
    portal_url        the customer portal       }
    invitation_url    the link that lets an invited user set a password (accounts.* templates)
    invited_by        who sent the invitation
    role_name         the invited staff user's role, in the email's language
    expiry_date       the last day the invitation link works
    case_token, case_subject, requester_name        a support case (support.* templates)
    response_target, support_channels, support_process   the acknowledgement's published support information
    message, agent_name, answer_url, ask_score      a reply or resolution; ask_score asks once for a 1-5 score
    target, severity, deadline, time_left, time_overdue, case_url   SLA warnings and breaches, to staff;
                      deadline and the times come as text (they do not end in "_date": shown as given)
    size_limit, mail_subject                        a refused oversized email (support.too_large)
    limit_kind, limit_level, limit_month, amount_limit, amount_used, amount_balance, amount_unbilled,
    percent_used, customer_url                      a credit limit or budget at 80% / 100% (limits.*)

Every context key ending in "_date" is formatted for the email's language, and "amount_due" gets
thousands separators, before the template sees them (rendering.prepare_context).
"""

from typing import NamedTuple


class Template(NamedTuple):
    subject: str
    body: str


# Context used to check an edited template before it is saved (support_hours comes from SUPPORT_HOURS).
SAMPLE_CONTEXT = {
    "customer_name": "Contoso 上海",
    "invoice_number": "INV-2026-000123",
    "amount_due": "12800.00",
    "amount_disputed": "3000.00",
    "currency": "CNY",
    "due_date": "2026-10-31",
    "days_overdue": 24,
    "suspension_date": "2026-11-24",
    "deletion_date": "2027-01-23",
    "subscriptions": ["Microsoft 365 E3", "Exchange Online (Plan 1)"],
    "partner_name": "Northwind Cloud",
    "support_email": "billing@northwind.example.cn",
    "portal_url": "https://partnerdesk.example.cn/portal/",
    # invitations (accounts.services)
    "invitation_url": "https://partnerdesk.example.cn/invitation/MTI/cjx2k1-0a1b2c3d4e5f/",
    "invited_by": "Wang Fang",
    "role_name": "Billing agent",
    "expiry_date": "2026-12-01",
    # the support desk (support.outbound, support.sla); every value plain ASCII so each language's check holds
    "case_token": "PD-123",
    "case_subject": "Contoso 上海: INV-2026-000123",
    "requester_name": "Zhang Wei",
    "response_target": "within 8 working hours (09:00-18:00 Beijing time on working days)",
    "support_channels": "Email billing@northwind.example.cn, the customer portal, or phone 400-820-1234",
    "support_process": "Every question becomes a case; we answer within its response target.",
    "message": "Your payment of CNY 12,800.00 was matched to invoice INV-2026-000123 today.",
    "agent_name": "Li Na",
    "answer_url": "https://partnerdesk.example.cn/support/answer/PD-123/cjx2k1-0a1b2c3d4e5f/",
    "ask_score": True,
    "target": "first_response",
    "severity": "B",
    "deadline": "2026-11-24 16:00 (UTC+8)",
    "time_left": "25 min",
    "time_overdue": "1 h 10 min",
    "case_url": "https://partnerdesk.example.cn/desk/cases/123/",
    "size_limit": "25 MB",
    "mail_subject": "Scanned receipts",
    # escalations to the operator (escalations.services)
    "operator_reference": "616122292874577",
    "request_title": "Invoice INV-2026-000123 billed twice",
    "subscription": "Microsoft 365 E3",
    "operator_answer": "The operator does not know this customer or subscription. (HTTP 404)",
    # payables to the operator (payables.tasks): to finance, before an operator invoice falls due
    "operator_invoice_number": "21V-202610-0042",
    "payment_due_date": "2026-11-02",
    "days_left": 5,
    "amount_late_charge": "1500.00",
    "payables_url": "https://partnerdesk.example.cn/payables/invoices/7/",
    # credit limits and budgets (fraud.limits): at 80% and 100% of a limit, to the customer and its agent
    "limit_kind": "credit_limit",
    "limit_level": 80,
    "limit_month": "November 2026",
    "amount_limit": "50000.00",
    "amount_used": "41250.00",
    "amount_balance": "30000.00",
    "amount_unbilled": "11250.00",
    "percent_used": 82,
    "customer_url": "https://partnerdesk.example.cn/customers/42/",
}

# Emails whose text holds a secret (a link that sets a password): nobody reads them back through the API.
CONFIDENTIAL_TEMPLATES = frozenset({"accounts.invitation", "accounts.portal_invitation"})

# Used for support_hours when neither the sender nor settings.NOTIFICATIONS gives it.
SUPPORT_HOURS = {
    "zh-CN": "北京时间工作日 9:00–18:00",
    "zh-TW": "北京時間工作日 9:00–18:00",
    "en": "business days, 09:00–18:00 Beijing time",
}

_SUBSCRIPTION_LIST = "{% for name in subscriptions %}  · {{ name }}\n{% endfor %}"

DEFAULTS: dict[str, dict[str, Template]] = {
    # --- an invoice is issued (the invoice PDF is attached) ---------------------------------------------
    "invoice.issued": {
        "zh-CN": Template(
            "发票 {{ invoice_number }}：应付 {{ currency }} {{ amount_due }}，{{ due_date }} 到期",
            """{{ customer_name }} 您好：

感谢您通过 {{ partner_name }} 使用由世纪互联运营的 Microsoft 云服务。

我们已为您开具以下发票，PDF 版本见附件：

  发票编号：{{ invoice_number }}
  应付金额：{{ currency }} {{ amount_due }}
  到期日期：{{ due_date }}

付款方式（银行转账、支付宝、微信支付）详见附件发票。付款时请在附言中注明发票编号 {{ invoice_number }}，以便我们及时核销。
{% if portal_url %}
您也可以登录客户门户查看和下载发票及对账单：{{ portal_url }}
{% endif %}
如对发票有任何疑问，欢迎随时联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

祝商祺！
{{ partner_name }}
""",
        ),
        "zh-TW": Template(
            "發票 {{ invoice_number }}：應付 {{ currency }} {{ amount_due }}，{{ due_date }} 到期",
            """{{ customer_name }} 您好：

感謝您透過 {{ partner_name }} 使用由世紀互聯營運的 Microsoft 雲端服務。

我們已為您開立下列發票，PDF 版本請見附件：

  發票號碼：{{ invoice_number }}
  應付金額：{{ currency }} {{ amount_due }}
  到期日期：{{ due_date }}

付款方式（銀行轉帳、支付寶、微信支付）詳見附件發票。付款時請於附言註明發票號碼 {{ invoice_number }}，以便我們及時沖銷。
{% if portal_url %}
您也可以登入客戶入口網站查看及下載發票與對帳單：{{ portal_url }}
{% endif %}
如對發票有任何疑問，歡迎隨時與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

順頌商祺
{{ partner_name }}
""",
        ),
        "en": Template(
            "Invoice {{ invoice_number }}: {{ currency }} {{ amount_due }} due on {{ due_date }}",
            """Dear {{ customer_name }},

Thank you for using the Microsoft cloud operated by 21Vianet through {{ partner_name }}.

We have issued the following invoice; the PDF is attached:

  Invoice:     {{ invoice_number }}
  Amount due:  {{ currency }} {{ amount_due }}
  Due date:    {{ due_date }}

How to pay (bank transfer, Alipay, WeChat Pay) is set out on the attached invoice. Please quote the invoice number {{ invoice_number }} as the payment reference, so that we can match your payment promptly.
{% if portal_url %}
You can also view and download your invoices and statement in the customer portal: {{ portal_url }}
{% endif %}
If you have any questions about this invoice, contact us at {{ support_email }} ({{ support_hours }}).

Kind regards,
{{ partner_name }}
""",
        ),
    },
    # --- an invoice falls due soon ----------------------------------------------------------------------
    "collections.reminder": {
        "zh-CN": Template(
            "付款提醒：发票 {{ invoice_number }} 将于 {{ due_date }} 到期",
            """{{ customer_name }} 您好：

感谢您通过 {{ partner_name }} 使用由世纪互联运营的 Microsoft 云服务。

温馨提醒，以下发票即将到期：

  发票编号：{{ invoice_number }}
{% if amount_due %}  应付金额：{{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  另有争议金额：{{ currency }} {{ amount_disputed }}（争议处理期间不予催收）
{% endif %}  到期日期：{{ due_date }}

请在到期日前完成付款，以确保您的服务不受影响。如您已安排付款，请忽略本邮件。
{% if portal_url %}
您可以登录客户门户查看发票和账单明细：{{ portal_url }}
{% endif %}
如对账单有任何疑问，欢迎随时联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

祝商祺！

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "付款提醒：發票 {{ invoice_number }} 將於 {{ due_date }} 到期",
            """{{ customer_name }} 您好：

感謝您透過 {{ partner_name }} 使用由世紀互聯營運的 Microsoft 雲端服務。

謹此提醒，下列發票即將到期：

  發票號碼：{{ invoice_number }}
{% if amount_due %}  應付金額：{{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  另有爭議金額：{{ currency }} {{ amount_disputed }}（爭議處理期間不予催收）
{% endif %}  到期日：{{ due_date }}

請於到期日前完成付款，以免影響您的服務。如您已安排付款，請忽略此郵件。
{% if portal_url %}
您可以登入客戶入口網站查看發票與帳單明細：{{ portal_url }}
{% endif %}
如對帳單有任何疑問，歡迎隨時與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

敬祝 商祺

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Payment reminder: invoice {{ invoice_number }} is due on {{ due_date }}",
            """Dear {{ customer_name }},

Thank you for using the Microsoft cloud operated by 21Vianet through {{ partner_name }}.

This is a friendly reminder that the following invoice is due soon:

  Invoice:     {{ invoice_number }}
{% if amount_due %}  Amount due:  {{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  Under dispute: {{ currency }} {{ amount_disputed }} (not being collected while the dispute is open)
{% endif %}  Due date:    {{ due_date }}

Please arrange payment by the due date so that your services continue without interruption. If you have already arranged payment, please disregard this message.
{% if portal_url %}
You can view the invoice and your statement in the customer portal: {{ portal_url }}
{% endif %}
If you have any questions about your bill, please contact us at {{ support_email }} ({{ support_hours }}).

Kind regards,

{{ partner_name }} Billing Team
""",
        ),
    },
    # --- an invoice is overdue: the suspension date -----------------------------------------------------
    "collections.notice": {
        "zh-CN": Template(
            "逾期通知：发票 {{ invoice_number }} 已逾期{% if suspension_date %}，服务将于 {{ suspension_date }} 暂停{% endif %}",
            """{{ customer_name }} 您好：

我们尚未收到以下发票的付款{% if days_overdue %}，该发票已逾期 {{ days_overdue }} 天{% endif %}：

  发票编号：{{ invoice_number }}
{% if amount_due %}  应付金额：{{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  另有争议金额：{{ currency }} {{ amount_disputed }}（争议处理期间不予催收）
{% endif %}  原到期日：{{ due_date }}

{% if suspension_date %}根据我们的收款政策，如在 {{ suspension_date }} 前仍未收到付款，我们将不得不暂停您的{% if subscriptions %}以下订阅：
""" + _SUBSCRIPTION_LIST + """{% else %}订阅。
{% endif %}{% else %}根据我们的收款政策，持续逾期将导致您的订阅被暂停。
{% endif %}
订阅暂停后，您的用户将无法登录和使用相关服务，仅管理员仍可访问数据。

请尽快安排付款，以免服务中断。如您已经付款，或对该发票有任何异议，请回复本邮件或联系 {{ support_email }}（服务时间：{{ support_hours }}），我们会尽快为您核实处理。

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "逾期通知：發票 {{ invoice_number }} 已逾期{% if suspension_date %}，服務將於 {{ suspension_date }} 暫停{% endif %}",
            """{{ customer_name }} 您好：

我們尚未收到下列發票的款項{% if days_overdue %}，該發票已逾期 {{ days_overdue }} 天{% endif %}：

  發票號碼：{{ invoice_number }}
{% if amount_due %}  應付金額：{{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  另有爭議金額：{{ currency }} {{ amount_disputed }}（爭議處理期間不予催收）
{% endif %}  原到期日：{{ due_date }}

{% if suspension_date %}依據我們的收款政策，如於 {{ suspension_date }} 前仍未收到款項，我們將不得不暫停您的{% if subscriptions %}下列訂閱：
""" + _SUBSCRIPTION_LIST + """{% else %}訂閱。
{% endif %}{% else %}依據我們的收款政策，持續逾期將導致您的訂閱被暫停。
{% endif %}
訂閱暫停後，您的使用者將無法登入及使用相關服務，僅系統管理員仍可存取資料。

請儘速安排付款，以免服務中斷。如您已完成付款，或對此發票有任何疑義，請回覆此郵件或聯絡 {{ support_email }}（服務時間：{{ support_hours }}），我們將儘快為您查核處理。

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Overdue notice: invoice {{ invoice_number }}{% if suspension_date %} – services will be suspended on {{ suspension_date }}{% else %} is past due{% endif %}",
            """Dear {{ customer_name }},

We have not yet received payment for the following invoice, which is now overdue{% if days_overdue %} by {{ days_overdue }} day{{ days_overdue|pluralize }}{% endif %}:

  Invoice:            {{ invoice_number }}
{% if amount_due %}  Amount due:         {{ currency }} {{ amount_due }}
{% endif %}{% if amount_disputed %}  Under dispute:      {{ currency }} {{ amount_disputed }} (not being collected while the dispute is open)
{% endif %}  Original due date:  {{ due_date }}

{% if suspension_date %}Under our collections policy, if we have not received payment by {{ suspension_date }}, we will have to suspend {% if subscriptions %}the following subscriptions:
""" + _SUBSCRIPTION_LIST + """{% else %}your subscriptions.
{% endif %}{% else %}Under our collections policy, continued non-payment will lead to the suspension of your subscriptions.
{% endif %}
While a subscription is suspended, your users cannot sign in or use the service; only your administrators can still reach your data.

Please arrange payment as soon as possible to avoid any interruption. If you have already paid, or if you dispute this invoice, reply to this email or contact {{ support_email }} ({{ support_hours }}) and we will look into it promptly.

{{ partner_name }} Billing Team
""",
        ),
    },
    # --- subscriptions suspended for non-payment: what happened, why, what to do, when data goes --------
    "collections.suspended": {
        "zh-CN": Template(
            "重要：您的订阅因逾期未付已被暂停",
            """{{ customer_name }} 您好：

由于{% if invoice_number %}发票 {{ invoice_number }}{% if due_date %}（到期日 {{ due_date }}）{% endif %}逾期未付{% else %}您的账户有逾期未付的款项{% endif %}，我们已{% if suspension_date %}于 {{ suspension_date }} {% endif %}暂停您的{% if subscriptions %}以下订阅：
""" + _SUBSCRIPTION_LIST + """{% else %}订阅。
{% endif %}
暂停期间：
  · 您的用户无法登录或使用相关服务；
  · 管理员仍可访问数据，建议您及时备份重要数据。

重要提示：按照世纪互联的规定，订阅暂停后 60 天内未恢复的，其全部数据将被删除。{% if deletion_date %}如在 {{ deletion_date }} 前仍未恢复，相关订阅中的数据将被永久删除，且无法找回。{% endif %}

如何恢复服务：
  1. 支付逾期款项{% if amount_due %} {{ currency }} {{ amount_due }}{% endif %}；
  2. 我们确认收款后会立即恢复您的订阅，并发送邮件通知您。

如您已经付款，或对账单有任何异议，请立即联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "重要：您的訂閱因逾期未付已被暫停",
            """{{ customer_name }} 您好：

由於{% if invoice_number %}發票 {{ invoice_number }}{% if due_date %}（到期日 {{ due_date }}）{% endif %}逾期未付{% else %}您的帳戶有逾期未付的款項{% endif %}，我們已{% if suspension_date %}於 {{ suspension_date }} {% endif %}暫停您的{% if subscriptions %}下列訂閱：
""" + _SUBSCRIPTION_LIST + """{% else %}訂閱。
{% endif %}
暫停期間：
  · 您的使用者無法登入或使用相關服務；
  · 系統管理員仍可存取資料，建議您及時備份重要資料。

重要提醒：依據世紀互聯的規定，訂閱暫停後 60 天內未恢復者，其所有資料將被刪除。{% if deletion_date %}如於 {{ deletion_date }} 前仍未恢復，相關訂閱中的資料將被永久刪除，且無法復原。{% endif %}

如何恢復服務：
  1. 支付逾期款項{% if amount_due %} {{ currency }} {{ amount_due }}{% endif %}；
  2. 我們確認收款後將立即恢復您的訂閱，並以郵件通知您。

如您已完成付款，或對帳單有任何疑義，請立即與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Your subscriptions have been suspended for non-payment",
            """Dear {{ customer_name }},

Because {% if invoice_number %}invoice {{ invoice_number }}{% if due_date %} (due on {{ due_date }}){% endif %} remains unpaid{% else %}your account has an overdue balance{% endif %}, we have suspended {% if subscriptions %}the following subscriptions{% if suspension_date %} as of {{ suspension_date }}{% endif %}:
""" + _SUBSCRIPTION_LIST + """{% else %}your subscriptions{% if suspension_date %} as of {{ suspension_date }}{% endif %}.
{% endif %}
While they are suspended:
  · your users cannot sign in or use these services;
  · your administrators can still reach your data, and we recommend backing up anything important.

Important: under 21Vianet's rules, all data of a subscription that is not reactivated within 60 days of suspension is deleted.{% if deletion_date %} Unless service is restored before {{ deletion_date }}, the data in these subscriptions will be permanently deleted and cannot be recovered.{% endif %}

To restore service:
  1. pay the overdue amount{% if amount_due %} of {{ currency }} {{ amount_due }}{% endif %};
  2. once we have confirmed your payment, we will reactivate your subscriptions straight away and let you know by email.

If you have already paid, or if you dispute this bill, please contact us right away at {{ support_email }} ({{ support_hours }}).

{{ partner_name }} Billing Team
""",
        ),
    },
    # --- access restored: closes the loop ---------------------------------------------------------------
    "collections.reactivated": {
        "zh-CN": Template(
            "服务已恢复：您的订阅已重新启用",
            """{{ customer_name }} 您好：

感谢您的付款。{% if invoice_number %}我们已确认收到发票 {{ invoice_number }} 的款项，{% endif %}您的{% if subscriptions %}以下订阅已恢复正常：
""" + _SUBSCRIPTION_LIST + """{% else %}订阅已恢复正常。
{% endif %}
您的用户现在可以重新登录并正常使用服务（恢复可能需要几分钟生效），原定的数据删除也已随之取消。

如您的用户仍无法登录，或有任何其他问题，请联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

感谢您的理解与支持！

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "服務已恢復：您的訂閱已重新啟用",
            """{{ customer_name }} 您好：

感謝您的付款。{% if invoice_number %}我們已確認收到發票 {{ invoice_number }} 的款項，{% endif %}您的{% if subscriptions %}下列訂閱已恢復正常：
""" + _SUBSCRIPTION_LIST + """{% else %}訂閱已恢復正常。
{% endif %}
您的使用者現在可以重新登入並正常使用服務（恢復可能需要數分鐘生效），原定的資料刪除也已一併取消。

如您的使用者仍無法登入，或有任何其他問題，請與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

感謝您的體諒與支持！

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Access restored: your subscriptions are active again",
            """Dear {{ customer_name }},

Thank you for your payment. {% if invoice_number %}We have received payment for invoice {{ invoice_number }} and {% else %}We {% endif %}have reactivated {% if subscriptions %}the following subscriptions:
""" + _SUBSCRIPTION_LIST + """{% else %}your subscriptions.
{% endif %}
Your users can sign in and use the services again (it may take a few minutes to take effect), and the scheduled data deletion has been cancelled.

If your users still cannot sign in, or if you have any other questions, please contact us at {{ support_email }} ({{ support_hours }}).

Thank you for your understanding.

{{ partner_name }} Billing Team
""",
        ),
    },
    # --- data will be deleted on a date unless paid ------------------------------------------------------
    "collections.deletion_warning": {
        "zh-CN": Template(
            "重要：您的数据将于 {{ deletion_date }} 被永久删除",
            """{{ customer_name }} 您好：

{% if invoice_number %}由于发票 {{ invoice_number }} 逾期未付，{% endif %}您的{% if subscriptions %}以下订阅{% else %}订阅{% endif %}{% if suspension_date %}自 {{ suspension_date }} 起{% endif %}一直处于暂停状态{% if subscriptions %}：
""" + _SUBSCRIPTION_LIST + """{% else %}。
{% endif %}
按照世纪互联的规定，订阅暂停后 60 天内未恢复的，其全部数据将被删除。如在 {{ deletion_date }} 前仍未收到您的付款{% if amount_due %}（{{ currency }} {{ amount_due }}）{% endif %}，相关订阅中的全部数据将被永久删除，且无法恢复。

为避免数据丢失，请尽快完成付款，我们确认收款后会立即恢复您的订阅。如您决定不再继续使用，请在该日期之前由管理员导出并备份需要保留的数据。

如有任何疑问，请联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "重要：您的資料將於 {{ deletion_date }} 被永久刪除",
            """{{ customer_name }} 您好：

{% if invoice_number %}由於發票 {{ invoice_number }} 逾期未付，{% endif %}您的{% if subscriptions %}下列訂閱{% else %}訂閱{% endif %}{% if suspension_date %}自 {{ suspension_date }} 起{% endif %}一直處於暫停狀態{% if subscriptions %}：
""" + _SUBSCRIPTION_LIST + """{% else %}。
{% endif %}
依據世紀互聯的規定，訂閱暫停後 60 天內未恢復者，其所有資料將被刪除。如於 {{ deletion_date }} 前仍未收到您的款項{% if amount_due %}（{{ currency }} {{ amount_due }}）{% endif %}，相關訂閱中的所有資料將被永久刪除，且無法復原。

為避免資料遺失，請儘速完成付款，我們確認收款後將立即恢復您的訂閱。如您決定不再繼續使用，請於該日期前由系統管理員匯出並備份需要保留的資料。

如有任何疑問，請與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Important: your data will be deleted on {{ deletion_date }}",
            """Dear {{ customer_name }},

{% if subscriptions %}The following subscriptions have{% else %}Your subscriptions have{% endif %} been suspended{% if suspension_date %} since {{ suspension_date }}{% endif %}{% if invoice_number %} because invoice {{ invoice_number }} remains unpaid{% endif %}{% if subscriptions %}:
""" + _SUBSCRIPTION_LIST + """{% else %}.
{% endif %}
Under 21Vianet's rules, all data of a subscription that is not reactivated within 60 days of suspension is deleted. Unless we receive your payment{% if amount_due %} ({{ currency }} {{ amount_due }}){% endif %} before {{ deletion_date }}, all data in these subscriptions will be permanently deleted and cannot be recovered.

To avoid losing your data, please pay as soon as possible; we will reactivate your subscriptions as soon as we have confirmed your payment. If you have decided not to continue, your administrators should export and back up any data you want to keep before that date.

If you have any questions, please contact us at {{ support_email }} ({{ support_hours }}).

{{ partner_name }} Billing Team
""",
        ),
    },

    # --- a staff user is invited (accounts.services.invite_staff_user) -------------------------------------
    "accounts.invitation": {
        "zh-CN": Template(
            "邀请：加入 {{ partner_name }} 的 PartnerDesk",
            """您好：

{% if invited_by %}{{ invited_by }} 邀请您{% else %}我们邀请您{% endif %}加入 {{ partner_name }} 的 PartnerDesk{% if role_name %}，角色为“{{ role_name }}”{% endif %}。

请打开以下链接设置密码，然后用本邮件的收件地址登录：

  {{ invitation_url }}

该链接只能使用一次，有效期至 {{ expiry_date }}。如果您并未期待这封邮件，可以直接忽略，您的地址不会被用于登录。

如有疑问，请联系：{{ support_email }}

{{ partner_name }}
""",
        ),
        "zh-TW": Template(
            "邀請：加入 {{ partner_name }} 的 PartnerDesk",
            """您好：

{% if invited_by %}{{ invited_by }} 邀請您{% else %}我們邀請您{% endif %}加入 {{ partner_name }} 的 PartnerDesk{% if role_name %}，角色為「{{ role_name }}」{% endif %}。

請開啟以下連結設定密碼，然後以本郵件的收件地址登入：

  {{ invitation_url }}

此連結只能使用一次，有效期限至 {{ expiry_date }}。如果您並未預期收到這封郵件，可以直接忽略，您的地址不會被用來登入。

如有疑問，請聯絡：{{ support_email }}

{{ partner_name }}
""",
        ),
        "en": Template(
            "Invitation: join {{ partner_name }} on PartnerDesk",
            """Hello,

{% if invited_by %}{{ invited_by }} has invited you{% else %}You have been invited{% endif %} to join {{ partner_name }} on PartnerDesk{% if role_name %} as {{ role_name }}{% endif %}.

Open this link to set your password, then sign in with the address this email was sent to:

  {{ invitation_url }}

The link works once, until {{ expiry_date }}. If you did not expect this email, ignore it: your address cannot be used to sign in without it.

Questions? Write to {{ support_email }}.

{{ partner_name }}
""",
        ),
    },
    # --- a customer's contact is invited to the portal (accounts.services.invite_portal_user) -------------
    "accounts.portal_invitation": {
        "zh-CN": Template(
            "邀请：使用 {{ partner_name }} 客户门户查看 {{ customer_name }} 的账单",
            """您好：

{% if invited_by %}{{ invited_by }} 邀请您{% else %}我们邀请您{% endif %}使用 {{ partner_name }} 的客户门户。在门户中，您可以随时查看 {{ customer_name }} 的发票、付款记录、对账单和订阅状态。

请打开以下链接设置密码，然后用本邮件的收件地址登录：

  {{ invitation_url }}

该链接只能使用一次，有效期至 {{ expiry_date }}。如果您并未期待这封邮件，可以直接忽略。

如对账单有任何疑问，欢迎联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

{{ partner_name }} 账务团队
""",
        ),
        "zh-TW": Template(
            "邀請：使用 {{ partner_name }} 客戶入口網站查看 {{ customer_name }} 的帳單",
            """您好：

{% if invited_by %}{{ invited_by }} 邀請您{% else %}我們邀請您{% endif %}使用 {{ partner_name }} 的客戶入口網站。在入口網站中，您可以隨時查看 {{ customer_name }} 的發票、付款紀錄、對帳單和訂閱狀態。

請開啟以下連結設定密碼，然後以本郵件的收件地址登入：

  {{ invitation_url }}

此連結只能使用一次，有效期限至 {{ expiry_date }}。如果您並未預期收到這封郵件，可以直接忽略。

如對帳單有任何疑問，歡迎與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

{{ partner_name }} 帳務團隊
""",
        ),
        "en": Template(
            "Invitation: see {{ customer_name }}'s billing in the {{ partner_name }} customer portal",
            """Hello,

{% if invited_by %}{{ invited_by }} has invited you{% else %}You have been invited{% endif %} to the {{ partner_name }} customer portal, where you can see {{ customer_name }}'s invoices, payments, statement and subscriptions at any time.

Open this link to set your password, then sign in with the address this email was sent to:

  {{ invitation_url }}

The link works once, until {{ expiry_date }}. If you did not expect this email, ignore it.

If you have any questions about your bill, please contact us at {{ support_email }} ({{ support_hours }}).

{{ partner_name }} Billing Team
""",
        ),
    },
    # --- the support desk: a case was opened (automatic) -------------------------------------------------
    "support.acknowledgement": {
        "zh-CN": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

我们已收到您的问题，并登记为工单 {{ case_token }}。

  工单编号：{{ case_token }}
  主题：{{ case_subject }}
{% if response_target %}  响应目标：{{ response_target }}
{% endif %}
直接回复本邮件即可补充说明或附件，您的回复会自动归入此工单（请保留邮件主题中的 [#{{ case_token }}]）。

服务时间：{{ support_hours }}
{% if support_channels %}联系方式：{{ support_channels }}
{% endif %}{% if support_process %}处理流程：{{ support_process }}
{% endif %}
如有其他问题，欢迎联系我们：{{ support_email }}。
{% if portal_url %}您也可以在客户门户中查看工单进展：{{ portal_url }}
{% endif %}
这是一封自动发送的确认邮件。

{{ partner_name }} 账务支持团队
""",
        ),
        "zh-TW": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

我們已收到您的問題，並登錄為案件 {{ case_token }}。

  案件編號：{{ case_token }}
  主旨：{{ case_subject }}
{% if response_target %}  回應目標：{{ response_target }}
{% endif %}
直接回覆本郵件即可補充說明或附件，您的回覆會自動歸入此案件（請保留郵件主旨中的 [#{{ case_token }}]）。

服務時間：{{ support_hours }}
{% if support_channels %}聯絡方式：{{ support_channels }}
{% endif %}{% if support_process %}處理流程：{{ support_process }}
{% endif %}
如有其他問題，歡迎與我們聯絡：{{ support_email }}。
{% if portal_url %}您也可以在客戶入口網站查看案件進度：{{ portal_url }}
{% endif %}
這是一封自動寄送的確認郵件。

{{ partner_name }} 帳務支援團隊
""",
        ),
        "en": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """Dear {{ requester_name|default:customer_name }},

We have received your question and opened case {{ case_token }} for it.

  Case:             {{ case_token }}
  Subject:          {{ case_subject }}
{% if response_target %}  Response target:  {{ response_target }}
{% endif %}
Reply to this email to add information or attachments: your reply is added to this case (please keep [#{{ case_token }}] in the subject).

Support hours: {{ support_hours }}
{% if support_channels %}How to reach us: {{ support_channels }}
{% endif %}{% if support_process %}How we work: {{ support_process }}
{% endif %}
For anything else, write to {{ support_email }}.
{% if portal_url %}You can follow the case in the customer portal: {{ portal_url }}
{% endif %}
This confirmation was sent automatically.

{{ partner_name }} Billing Support
""",
        ),
    },
    # --- the support desk: an agent's public reply (a person's mail: no Auto-Submitted) ------------------
    "support.reply": {
        "zh-CN": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

{{ message }}

如需补充，直接回复本邮件即可，您的回复会归入工单 {{ case_token }}。

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} 账务支持团队
{{ support_email }}
""",
        ),
        "zh-TW": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

{{ message }}

如需補充，直接回覆本郵件即可，您的回覆會歸入案件 {{ case_token }}。

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} 帳務支援團隊
{{ support_email }}
""",
        ),
        "en": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """Dear {{ requester_name|default:customer_name }},

{{ message }}

To add anything, reply to this email: your reply is added to case {{ case_token }}.

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} Billing Support
{{ support_email }}
""",
        ),
    },
    # --- the support desk: the resolution, with the link to confirm or reopen (and, once, to score) ------
    "support.resolution": {
        "zh-CN": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

关于工单 {{ case_token }}（{{ case_subject }}），我们的处理结果如下：

{{ message }}

问题是否已经解决？请打开以下链接确认；如果尚未解决，也请通过同一链接告诉我们，我们会继续处理：

  {{ answer_url }}
{% if ask_score %}
也请您在同一页面为本次服务评分（1 至 5 分，5 分为非常满意），并留下您的意见。
{% endif %}
您也可以直接回复本邮件。

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} 账务支持团队
{{ support_email }}
""",
        ),
        "zh-TW": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """{{ requester_name|default:customer_name }} 您好：

關於案件 {{ case_token }}（{{ case_subject }}），我們的處理結果如下：

{{ message }}

問題是否已經解決？請開啟以下連結確認；如果尚未解決，也請透過同一連結告訴我們，我們會繼續處理：

  {{ answer_url }}
{% if ask_score %}
也請您在同一頁面為本次服務評分（1 至 5 分，5 分為非常滿意），並留下您的意見。
{% endif %}
您也可以直接回覆本郵件。

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} 帳務支援團隊
{{ support_email }}
""",
        ),
        "en": Template(
            "[#{{ case_token }}] {{ case_subject }}",
            """Dear {{ requester_name|default:customer_name }},

Here is how we resolved case {{ case_token }} ({{ case_subject }}):

{{ message }}

Is your question answered? Please confirm it at the link below; if it is not solved, tell us at the same link and we will carry on:

  {{ answer_url }}
{% if ask_score %}
On the same page, please score our help from 1 to 5 (5: very satisfied) and leave a comment if you like.
{% endif %}
You can also reply to this email.

{% if agent_name %}{{ agent_name }}
{% endif %}{{ partner_name }} Billing Support
{{ support_email }}
""",
        ),
    },
    # --- the support desk, to staff: an SLA deadline is near ---------------------------------------------
    "support.sla_warning": {
        "zh-CN": Template(
            "SLA 即将超时：{{ case_token }} {{ case_subject }}",
            """您好：

工单 {{ case_token }} 的{% if target == "first_response" %}首次响应{% elif target == "next_response" %}后续响应{% else %}解决{% endif %}期限即将到达。

  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}
{% if severity %}  严重级别：{{ severity }}
{% endif %}  目标：{% if target == "first_response" %}首次响应{% elif target == "next_response" %}后续响应{% else %}解决{% endif %}
  期限：{{ deadline }}
  剩余时间：{{ time_left }}

请尽快处理：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "SLA 即將逾時：{{ case_token }} {{ case_subject }}",
            """您好：

案件 {{ case_token }} 的{% if target == "first_response" %}首次回應{% elif target == "next_response" %}後續回應{% else %}解決{% endif %}期限即將到達。

  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}
{% if severity %}  嚴重等級：{{ severity }}
{% endif %}  目標：{% if target == "first_response" %}首次回應{% elif target == "next_response" %}後續回應{% else %}解決{% endif %}
  期限：{{ deadline }}
  剩餘時間：{{ time_left }}

請儘快處理：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "SLA warning: {{ case_token }} {{ case_subject }}",
            """Hello,

The {% if target == "first_response" %}first response{% elif target == "next_response" %}next response{% else %}resolution{% endif %} deadline of case {{ case_token }} is near.

  Case:      {{ case_token }} {{ case_subject }}
  Customer:  {{ customer_name }}
{% if severity %}  Severity:  {{ severity }}
{% endif %}  Target:    {% if target == "first_response" %}first response{% elif target == "next_response" %}next response{% else %}resolution{% endif %}
  Deadline:  {{ deadline }}
  Time left: {{ time_left }}

Please act now: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- the support desk, to staff: an SLA deadline has passed ------------------------------------------
    "support.sla_breach": {
        "zh-CN": Template(
            "SLA 已超时：{{ case_token }} {{ case_subject }}",
            """您好：

工单 {{ case_token }} 已超过{% if target == "first_response" %}首次响应{% elif target == "next_response" %}后续响应{% else %}解决{% endif %}期限。

  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}
{% if severity %}  严重级别：{{ severity }}
{% endif %}  目标：{% if target == "first_response" %}首次响应{% elif target == "next_response" %}后续响应{% else %}解决{% endif %}
  期限：{{ deadline }}
  已超时：{{ time_overdue }}

请立即处理：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "SLA 已逾時：{{ case_token }} {{ case_subject }}",
            """您好：

案件 {{ case_token }} 已超過{% if target == "first_response" %}首次回應{% elif target == "next_response" %}後續回應{% else %}解決{% endif %}期限。

  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}
{% if severity %}  嚴重等級：{{ severity }}
{% endif %}  目標：{% if target == "first_response" %}首次回應{% elif target == "next_response" %}後續回應{% else %}解決{% endif %}
  期限：{{ deadline }}
  已逾時：{{ time_overdue }}

請立即處理：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "SLA breached: {{ case_token }} {{ case_subject }}",
            """Hello,

Case {{ case_token }} has missed its {% if target == "first_response" %}first response{% elif target == "next_response" %}next response{% else %}resolution{% endif %} deadline.

  Case:      {{ case_token }} {{ case_subject }}
  Customer:  {{ customer_name }}
{% if severity %}  Severity:  {{ severity }}
{% endif %}  Target:    {% if target == "first_response" %}first response{% elif target == "next_response" %}next response{% else %}resolution{% endif %}
  Deadline:  {{ deadline }}
  Overdue:   {{ time_overdue }}

Please act now: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- escalations, to the collections team: a paid customer's reactivation the operator keeps refusing --
    "escalations.reactivation_stuck": {
        "zh-CN": Template(
            "紧急：{{ customer_name }} 的订阅 {{ subscription }} 无法恢复（{{ case_token }}）",
            """您好：

客户 {{ customer_name }} 已付清欠款，但运营方一直拒绝恢复其订阅，客户目前仍无法使用服务。

  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}
  订阅：{{ subscription }}
  运营方的最后答复：{{ operator_answer }}

请立即在运营方处核实并处理，然后在工单中重试该请求：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "緊急：{{ customer_name }} 的訂閱 {{ subscription }} 無法恢復（{{ case_token }}）",
            """您好：

客戶 {{ customer_name }} 已付清欠款，但營運方一直拒絕恢復其訂閱，客戶目前仍無法使用服務。

  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}
  訂閱：{{ subscription }}
  營運方的最後答覆：{{ operator_answer }}

請立即在營運方處核實並處理，然後在案件中重試該請求：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "Urgent: {{ customer_name }} has paid but {{ subscription }} cannot be reactivated ({{ case_token }})",
            """Hello,

{{ customer_name }} has paid its overdue balance, but the operator keeps refusing to reactivate its subscription: the customer still has no access.

  Case:                     {{ case_token }} {{ case_subject }}
  Customer:                 {{ customer_name }}
  Subscription:             {{ subscription }}
  The operator's last answer: {{ operator_answer }}

Please check it at the operator now, then try the request again from the case: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- escalations, to the case's agent: the operator has not answered or closed a request in time ------
    "escalations.reminder": {
        "zh-CN": Template(
            "世纪互联逾期未{% if target == \"first_response\" %}答复{% else %}解决{% endif %}：{{ operator_reference }}（{{ case_token }}）",
            """您好：

我们代客户提交给世纪互联的服务请求{% if target == "first_response" %}在其首次响应目标内尚未得到答复{% else %}在其解决目标内尚未关闭{% endif %}，请跟进。

  服务请求：{{ operator_reference }} {{ request_title }}
  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}
  期限：{{ deadline }}（北京时间）

请在世纪互联门户中催办，或补充信息，并在工单中记录对方的答复：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "世紀互聯逾期未{% if target == \"first_response\" %}回覆{% else %}解決{% endif %}：{{ operator_reference }}（{{ case_token }}）",
            """您好：

我們代客戶提交給世紀互聯的服務請求{% if target == "first_response" %}在其首次回應目標內尚未得到回覆{% else %}在其解決目標內尚未關閉{% endif %}，請跟進。

  服務請求：{{ operator_reference }} {{ request_title }}
  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}
  期限：{{ deadline }}（北京時間）

請在世紀互聯入口網站中催辦，或補充資訊，並在案件中記錄對方的回覆：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "21Vianet is late {% if target == \"first_response\" %}answering{% else %}resolving{% endif %} {{ operator_reference }} ({{ case_token }})",
            """Hello,

The service request we filed with 21Vianet on the customer's behalf {% if target == "first_response" %}has had no answer within the operator's first-response target{% else %}is still not closed past its resolution target{% endif %}. Please follow it up.

  Service request:  {{ operator_reference }} {{ request_title }}
  Case:             {{ case_token }} {{ case_subject }}
  Customer:         {{ customer_name }}
  Due:              {{ deadline }} (Beijing time)

Chase it in 21Vianet's portal or add what it needs, and log the operator's answer on the case: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- escalations, to the case's agent: the operator needs something from us -----------------------------
    "escalations.attention": {
        "zh-CN": Template(
            "世纪互联需要我们回复：{{ operator_reference }}（{{ case_token }}）",
            """您好：

世纪互联将服务请求 {{ operator_reference }} 标记为“需要我们处理”，请阅读其最新备注并回复。

  服务请求：{{ operator_reference }} {{ request_title }}
  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}

查看工单：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "世紀互聯需要我們回覆：{{ operator_reference }}（{{ case_token }}）",
            """您好：

世紀互聯將服務請求 {{ operator_reference }} 標記為「需要我們處理」，請閱讀其最新備註並回覆。

  服務請求：{{ operator_reference }} {{ request_title }}
  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}

查看案件：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "21Vianet needs our answer: {{ operator_reference }} ({{ case_token }})",
            """Hello,

21Vianet marked service request {{ operator_reference }} as needing our attention. Please read its latest notes and answer.

  Service request:  {{ operator_reference }} {{ request_title }}
  Case:             {{ case_token }} {{ case_subject }}
  Customer:         {{ customer_name }}

Open the case: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- escalations, to the case's agent: the operator closed a request; the task is to tell the customer --
    "escalations.closed": {
        "zh-CN": Template(
            "世纪互联已关闭 {{ operator_reference }}：请告知客户（{{ case_token }}）",
            """您好：

世纪互联已关闭我们代客户提交的服务请求 {{ operator_reference }}。工单 {{ case_token }} 已回到您手中，待办事项只有一项：回复客户，告知处理结果。

  服务请求：{{ operator_reference }} {{ request_title }}
  工单：{{ case_token }} {{ case_subject }}
  客户：{{ customer_name }}

世纪互联的答复记录在工单中：{{ case_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "世紀互聯已關閉 {{ operator_reference }}：請告知客戶（{{ case_token }}）",
            """您好：

世紀互聯已關閉我們代客戶提交的服務請求 {{ operator_reference }}。案件 {{ case_token }} 已回到您手中，待辦事項只有一項：回覆客戶，告知處理結果。

  服務請求：{{ operator_reference }} {{ request_title }}
  案件：{{ case_token }} {{ case_subject }}
  客戶：{{ customer_name }}

世紀互聯的回覆記錄在案件中：{{ case_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "21Vianet closed {{ operator_reference }}: tell the customer ({{ case_token }})",
            """Hello,

21Vianet closed service request {{ operator_reference }}, which we filed on the customer's behalf. Case {{ case_token }} is back with you, with one task: reply to the customer with the outcome.

  Service request:  {{ operator_reference }} {{ request_title }}
  Case:             {{ case_token }} {{ case_subject }}
  Customer:         {{ customer_name }}

21Vianet's answers are on the case: {{ case_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- payables, to finance: an operator invoice falls due soon and is not paid in full -------------------
    "payables.due_warning": {
        "zh-CN": Template(
            "世纪互联发票 {{ operator_invoice_number }} 将于 {{ due_date }} 到期：应付 {{ currency }} {{ amount_due }}",
            """您好：

世纪互联开给我们的发票 {{ operator_invoice_number }} 即将到期，尚未付清。

  发票编号：{{ operator_invoice_number }}
  未付金额：{{ currency }} {{ amount_due }}
  到期日期：{{ due_date }}
{% if payment_due_date != due_date %}  最晚付款日：{{ payment_due_date }}（到期日不是工作日，银行休息，顺延至下一个工作日）
{% endif %}  剩余天数：{{ days_left }} 天

无论客户是否付款，我们都须按时向世纪互联付款。逾期未付将按发票金额每月（不足一个月按一个月计）收取滞纳金，每月约 {{ currency }} {{ amount_late_charge }}；逾期过久，世纪互联将限制合作伙伴账户（不能新增客户、订单、调整数量或加购）。

付款后请在 PartnerDesk 中登记：{{ payables_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "世紀互聯發票 {{ operator_invoice_number }} 將於 {{ due_date }} 到期：應付 {{ currency }} {{ amount_due }}",
            """您好：

世紀互聯開給我們的發票 {{ operator_invoice_number }} 即將到期，尚未付清。

  發票號碼：{{ operator_invoice_number }}
  未付金額：{{ currency }} {{ amount_due }}
  到期日期：{{ due_date }}
{% if payment_due_date != due_date %}  最晚付款日：{{ payment_due_date }}（到期日不是工作日，銀行休息，順延至下一個工作日）
{% endif %}  剩餘天數：{{ days_left }} 天

無論客戶是否付款，我們都須按時向世紀互聯付款。逾期未付將按發票金額每月（不足一個月以一個月計）收取滯納金，每月約 {{ currency }} {{ amount_late_charge }}；逾期過久，世紀互聯將限制合作夥伴帳戶（不能新增客戶、訂單、調整數量或加購）。

付款後請在 PartnerDesk 中登記：{{ payables_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "21Vianet invoice {{ operator_invoice_number }} falls due {{ due_date }}: {{ currency }} {{ amount_due }} to pay",
            """Hello,

21Vianet's invoice {{ operator_invoice_number }} to us falls due soon and is not paid in full.

  Invoice:     {{ operator_invoice_number }}
  Still owed:  {{ currency }} {{ amount_due }}
  Due date:    {{ due_date }}
{% if payment_due_date != due_date %}  Pay by:      {{ payment_due_date }} (the due date is not a working day in China: banks are closed, so payment is due on the next working day)
{% endif %}  Days left:   {{ days_left }}

We pay 21Vianet on time whether or not our customers pay us. A late payment draws a late charge on the invoice amount for every month or part of a month, about {{ currency }} {{ amount_late_charge }} a month; long overdue, 21Vianet restricts the partner account (no new customers, orders, quantity changes or add-ons).

Once paid, record the payment in PartnerDesk: {{ payables_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- credit limits and budgets (fraud.limits): 80% and 100% of a limit, to the customer and its agent ----
    "limits.warning": {
        "zh-CN": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}订阅 {{ subscription }} 的{% endif %}{{ limit_month }}预算{% else %}信用额度{% endif %}已使用 {{ percent_used }}%：{{ currency }} {{ amount_used }} / {{ amount_limit }}",
            """{{ customer_name }} 您好：

{% if limit_kind == 'budget' %}您{% if subscription %}的订阅 {{ subscription }} {% endif %}在 {{ limit_month }} 的用量费用已达到月度预算的 {{ percent_used }}%。{% else %}您在 {{ partner_name }} 的应付金额（未付账款加上尚未开具发票的用量）已达到信用额度的 {{ percent_used }}%。{% endif %}

  {% if limit_kind == 'budget' %}月度预算{% else %}信用额度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付账款：{{ currency }} {{ amount_balance }}
  尚未开票的用量（含税）：{{ currency }} {{ amount_unbilled }}
{% endif %}
达到 100% 时我们会再通知您一次。请检查您的用量：如有您不认识的资源或异常的用量，请立即联系我们，以免产生更多费用。{% if limit_kind == 'credit_limit' %}及时付款可以恢复可用额度。{% endif %}
{% if portal_url %}
您可以登录客户门户查看发票和用量：{{ portal_url }}
{% endif %}
如有疑问，欢迎随时联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

祝商祺！
{{ partner_name }}
""",
        ),
        "zh-TW": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}訂閱 {{ subscription }} 的{% endif %}{{ limit_month }}預算{% else %}信用額度{% endif %}已使用 {{ percent_used }}%：{{ currency }} {{ amount_used }} / {{ amount_limit }}",
            """{{ customer_name }} 您好：

{% if limit_kind == 'budget' %}您{% if subscription %}的訂閱 {{ subscription }} {% endif %}在 {{ limit_month }} 的用量費用已達到每月預算的 {{ percent_used }}%。{% else %}您在 {{ partner_name }} 的應付金額（未付帳款加上尚未開立發票的用量）已達到信用額度的 {{ percent_used }}%。{% endif %}

  {% if limit_kind == 'budget' %}每月預算{% else %}信用額度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付帳款：{{ currency }} {{ amount_balance }}
  尚未開立發票的用量（含稅）：{{ currency }} {{ amount_unbilled }}
{% endif %}
達到 100% 時我們會再通知您一次。請檢查您的用量：如有您不認識的資源或異常的用量，請立即與我們聯絡，以免產生更多費用。{% if limit_kind == 'credit_limit' %}及時付款可以恢復可用額度。{% endif %}
{% if portal_url %}
您可以登入客戶入口網站查看發票和用量：{{ portal_url }}
{% endif %}
如有疑問，歡迎隨時與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

順頌商祺
{{ partner_name }}
""",
        ),
        "en": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}{{ subscription }}: {% endif %}{{ percent_used }}% of your {{ limit_month }} budget used{% else %}{{ percent_used }}% of your credit limit used{% endif %}: {{ currency }} {{ amount_used }} of {{ amount_limit }}",
            """Dear {{ customer_name }},

{% if limit_kind == 'budget' %}Your usage charges{% if subscription %} on subscription {{ subscription }}{% endif %} in {{ limit_month }} have reached {{ percent_used }}% of your monthly budget.{% else %}What you owe {{ partner_name }} (unpaid invoices plus usage not yet invoiced) has reached {{ percent_used }}% of your credit limit.{% endif %}

  {% if limit_kind == 'budget' %}Monthly budget:{% else %}Credit limit:  {% endif %}  {{ currency }} {{ amount_limit }}
  Used:            {{ currency }} {{ amount_used }} ({{ percent_used }}%)
{% if limit_kind == 'credit_limit' %}  Unpaid invoices: {{ currency }} {{ amount_balance }}
  Usage not yet invoiced (incl. tax): {{ currency }} {{ amount_unbilled }}
{% endif %}
We will tell you again at 100%. Please check your usage: if you see resources you do not recognise or unusual usage, contact us at once so that no more charges build up.{% if limit_kind == 'credit_limit' %} Paying what is due frees up your limit.{% endif %}
{% if portal_url %}
Your invoices and usage are in the customer portal: {{ portal_url }}
{% endif %}
Questions are welcome at {{ support_email }} ({{ support_hours }}).

Kind regards,
{{ partner_name }}
""",
        ),
    },
    "limits.reached": {
        "zh-CN": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}订阅 {{ subscription }} 的{% endif %}{{ limit_month }}预算{% else %}信用额度{% endif %}已用尽（{{ percent_used }}%）：{{ currency }} {{ amount_used }} / {{ amount_limit }}",
            """{{ customer_name }} 您好：

{% if limit_kind == 'budget' %}您{% if subscription %}的订阅 {{ subscription }} {% endif %}在 {{ limit_month }} 的用量费用已达到月度预算的 {{ percent_used }}%，预算已用尽。{% else %}您在 {{ partner_name }} 的应付金额（未付账款加上尚未开具发票的用量）已达到信用额度的 {{ percent_used }}%，信用额度已用尽。{% endif %}

  {% if limit_kind == 'budget' %}月度预算{% else %}信用额度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付账款：{{ currency }} {{ amount_balance }}
  尚未开票的用量（含税）：{{ currency }} {{ amount_unbilled }}
{% endif %}
请尽快检查您的用量。如有您不认识的资源或异常的用量，请立即联系我们。{% if limit_kind == 'credit_limit' %}请及时支付到期的发票；超出额度后，我们可能需要您预付款项，才能继续提供服务。{% else %}如需提高预算，请联系我们。{% endif %}
{% if portal_url %}
您可以登录客户门户查看发票和用量：{{ portal_url }}
{% endif %}
如有疑问，欢迎随时联系我们：{{ support_email }}（服务时间：{{ support_hours }}）。

祝商祺！
{{ partner_name }}
""",
        ),
        "zh-TW": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}訂閱 {{ subscription }} 的{% endif %}{{ limit_month }}預算{% else %}信用額度{% endif %}已用盡（{{ percent_used }}%）：{{ currency }} {{ amount_used }} / {{ amount_limit }}",
            """{{ customer_name }} 您好：

{% if limit_kind == 'budget' %}您{% if subscription %}的訂閱 {{ subscription }} {% endif %}在 {{ limit_month }} 的用量費用已達到每月預算的 {{ percent_used }}%，預算已用盡。{% else %}您在 {{ partner_name }} 的應付金額（未付帳款加上尚未開立發票的用量）已達到信用額度的 {{ percent_used }}%，信用額度已用盡。{% endif %}

  {% if limit_kind == 'budget' %}每月預算{% else %}信用額度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付帳款：{{ currency }} {{ amount_balance }}
  尚未開立發票的用量（含稅）：{{ currency }} {{ amount_unbilled }}
{% endif %}
請盡快檢查您的用量。如有您不認識的資源或異常的用量，請立即與我們聯絡。{% if limit_kind == 'credit_limit' %}請及時支付到期的發票；超出額度後，我們可能需要您預先付款，才能繼續提供服務。{% else %}如需提高預算，請與我們聯絡。{% endif %}
{% if portal_url %}
您可以登入客戶入口網站查看發票和用量：{{ portal_url }}
{% endif %}
如有疑問，歡迎隨時與我們聯絡：{{ support_email }}（服務時間：{{ support_hours }}）。

順頌商祺
{{ partner_name }}
""",
        ),
        "en": Template(
            "{% if limit_kind == 'budget' %}{% if subscription %}{{ subscription }}: {% endif %}your {{ limit_month }} budget is used up{% else %}Your credit limit is used up{% endif %} ({{ percent_used }}%): {{ currency }} {{ amount_used }} of {{ amount_limit }}",
            """Dear {{ customer_name }},

{% if limit_kind == 'budget' %}Your usage charges{% if subscription %} on subscription {{ subscription }}{% endif %} in {{ limit_month }} have reached {{ percent_used }}% of your monthly budget: the budget is used up.{% else %}What you owe {{ partner_name }} (unpaid invoices plus usage not yet invoiced) has reached {{ percent_used }}% of your credit limit: the limit is used up.{% endif %}

  {% if limit_kind == 'budget' %}Monthly budget:{% else %}Credit limit:  {% endif %}  {{ currency }} {{ amount_limit }}
  Used:            {{ currency }} {{ amount_used }} ({{ percent_used }}%)
{% if limit_kind == 'credit_limit' %}  Unpaid invoices: {{ currency }} {{ amount_balance }}
  Usage not yet invoiced (incl. tax): {{ currency }} {{ amount_unbilled }}
{% endif %}
Please check your usage soon. If you see resources you do not recognise or unusual usage, contact us at once.{% if limit_kind == 'credit_limit' %} Please pay the invoices that are due; past the limit we may need you to pay in advance to keep the service running.{% else %} If you need a higher budget, let us know.{% endif %}
{% if portal_url %}
Your invoices and usage are in the customer portal: {{ portal_url }}
{% endif %}
Questions are welcome at {{ support_email }} ({{ support_hours }}).

Kind regards,
{{ partner_name }}
""",
        ),
    },
    "limits.agent_warning": {
        "zh-CN": Template(
            "{{ customer_name }}：{% if limit_kind == 'budget' %}{% if subscription %}订阅 {{ subscription }} 的{% endif %}{{ limit_month }}预算{% else %}信用额度{% endif %}已使用 {{ percent_used }}%",
            """您好：

您负责的客户 {{ customer_name }} {% if limit_kind == 'budget' %}{% if subscription %}（订阅 {{ subscription }}）{% endif %}在 {{ limit_month }} 的用量费用已达到月度预算{% else %}的应付金额（未付账款加上尚未开具发票的用量）已达到信用额度{% endif %}的 {{ percent_used }}%{% if limit_level >= 100 %}，已用尽{% endif %}。客户的账务联系人已收到同样的提醒。

  客户：{{ customer_name }}
  {% if limit_kind == 'budget' %}月度预算{% else %}信用额度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付账款：{{ currency }} {{ amount_balance }}
  尚未开票的用量（含税）：{{ currency }} {{ amount_unbilled }}
{% endif %}
{% if limit_level >= 100 %}欺诈监控会为此开立提醒；请查看客户的用量，决定是否要求预付款、暂停新订单或暂停订阅。{% else %}请留意客户的用量与付款情况。{% endif %}

客户页面：{{ customer_url }}

此邮件由 {{ partner_name }} 的 PartnerDesk 自动发送（客户支持邮箱：{{ support_email }}）。
""",
        ),
        "zh-TW": Template(
            "{{ customer_name }}：{% if limit_kind == 'budget' %}{% if subscription %}訂閱 {{ subscription }} 的{% endif %}{{ limit_month }}預算{% else %}信用額度{% endif %}已使用 {{ percent_used }}%",
            """您好：

您負責的客戶 {{ customer_name }} {% if limit_kind == 'budget' %}{% if subscription %}（訂閱 {{ subscription }}）{% endif %}在 {{ limit_month }} 的用量費用已達到每月預算{% else %}的應付金額（未付帳款加上尚未開立發票的用量）已達到信用額度{% endif %}的 {{ percent_used }}%{% if limit_level >= 100 %}，已用盡{% endif %}。客戶的帳務聯絡人已收到同樣的提醒。

  客戶：{{ customer_name }}
  {% if limit_kind == 'budget' %}每月預算{% else %}信用額度{% endif %}：{{ currency }} {{ amount_limit }}
  已使用：{{ currency }} {{ amount_used }}（{{ percent_used }}%）
{% if limit_kind == 'credit_limit' %}  其中未付帳款：{{ currency }} {{ amount_balance }}
  尚未開立發票的用量（含稅）：{{ currency }} {{ amount_unbilled }}
{% endif %}
{% if limit_level >= 100 %}詐騙監控會為此開立警示；請查看客戶的用量，決定是否要求預先付款、暫停新訂單或暫停訂閱。{% else %}請留意客戶的用量與付款情況。{% endif %}

客戶頁面：{{ customer_url }}

此郵件由 {{ partner_name }} 的 PartnerDesk 自動寄送（客戶支援信箱：{{ support_email }}）。
""",
        ),
        "en": Template(
            "{{ customer_name }}: {% if limit_kind == 'budget' %}{% if subscription %}{{ subscription }}, {% endif %}{{ percent_used }}% of the {{ limit_month }} budget used{% else %}{{ percent_used }}% of the credit limit used{% endif %}",
            """Hello,

{% if limit_kind == 'budget' %}The usage charges of your customer {{ customer_name }}{% if subscription %} on subscription {{ subscription }}{% endif %} in {{ limit_month }} have reached {{ percent_used }}% of its monthly budget{% else %}What your customer {{ customer_name }} owes (unpaid invoices plus usage not yet invoiced) has reached {{ percent_used }}% of its credit limit{% endif %}{% if limit_level >= 100 %}: the limit is used up{% endif %}. The customer's billing contacts got the same warning.

  Customer:        {{ customer_name }}
  {% if limit_kind == 'budget' %}Monthly budget:{% else %}Credit limit:  {% endif %}  {{ currency }} {{ amount_limit }}
  Used:            {{ currency }} {{ amount_used }} ({{ percent_used }}%)
{% if limit_kind == 'credit_limit' %}  Unpaid invoices: {{ currency }} {{ amount_balance }}
  Usage not yet invoiced (incl. tax): {{ currency }} {{ amount_unbilled }}
{% endif %}
{% if limit_level >= 100 %}Fraud monitoring opens an alert for it: look at the customer's usage and decide whether to require prepayment, hold new orders or suspend subscriptions.{% else %}Keep an eye on the customer's usage and payments.{% endif %}

Customer page: {{ customer_url }}

Sent automatically by {{ partner_name }}'s PartnerDesk (customers write to {{ support_email }}).
""",
        ),
    },
    # --- the support desk: a message over the size limit was not filed (automatic) -----------------------
    "support.too_large": {
        "zh-CN": Template(
            "您的邮件未能受理：超过 {{ size_limit }} 的大小上限",
            """您好：

您发送至 {{ support_email }} 的邮件{% if mail_subject %}（主题：{{ mail_subject }}）{% endif %}超过了我们能够接收的大小上限 {{ size_limit }}，因此未能登记为工单，也未转交客服人员处理。

请删减附件后重新发送，或通过以下方式提交较大的文件：
{% if portal_url %}  · 登录客户门户 {{ portal_url }}，在工单中上传附件；
{% endif %}  · 将附件分成几封邮件发送，每封不超过 {{ size_limit }}。

这是一封自动回复邮件。

{{ partner_name }} 账务支持团队
""",
        ),
        "zh-TW": Template(
            "您的郵件未能受理：超過 {{ size_limit }} 的大小上限",
            """您好：

您寄至 {{ support_email }} 的郵件{% if mail_subject %}（主旨：{{ mail_subject }}）{% endif %}超過了我們能夠接收的大小上限 {{ size_limit }}，因此未能登錄為案件，也未轉交客服人員處理。

請刪減附件後重新寄送，或透過以下方式提交較大的檔案：
{% if portal_url %}  · 登入客戶入口網站 {{ portal_url }}，在案件中上傳附件；
{% endif %}  · 將附件分成幾封郵件寄送，每封不超過 {{ size_limit }}。

這是一封自動回覆郵件。

{{ partner_name }} 帳務支援團隊
""",
        ),
        "en": Template(
            "Your email was not accepted: it is larger than {{ size_limit }}",
            """Hello,

Your email to {{ support_email }}{% if mail_subject %} ("{{ mail_subject }}"){% endif %} is larger than the {{ size_limit }} we can accept, so it was not filed as a case and has not reached our support team.

Please send it again with smaller attachments, or send large files another way:
{% if portal_url %}  · sign in to the customer portal, {{ portal_url }}, and upload them to your case;
{% endif %}  · split the attachments over several emails of at most {{ size_limit }} each.

This reply was sent automatically.

{{ partner_name }} Billing Support
""",
        ),
    },
}

LANGUAGES = ("zh-CN", "zh-TW", "en")


def default_template(key: str, language: str) -> Template | None:
    """The built-in template for a key in a language, or None if there is none."""
    return DEFAULTS.get(key, {}).get(language)
