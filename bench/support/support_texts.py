"""What the benchmark's customers and agents write: billing questions in Simplified and Traditional Chinese
and English (often mixed), with invoice numbers as the ledger writes them (INV-<year>-<6 digits>), amounts,
dates and the Chinese words agents search for (发票, 付款, 退款, 暂停, 账单).

A text is a list of pieces joined by single spaces. Every piece boundary is a token boundary for
support.fulltext.tokens (a space never joins two tokens), so a message's index document is the union of its
pieces' tokens, and the tokens of the fixed pieces are computed once (see support_data.Documents).
"""

import random

# {inv} invoice number, {amt} amount, {date} a date, {code} an error code. Placeholders are ASCII only, so a
# piece never runs a Chinese word across a placeholder.
GREETING = {
    "zh-CN": ["您好，", "你好，", "客服您好，", "尊敬的客服：", "财务同事您好，"],
    "zh-TW": ["您好，", "客服您好，", "敬啟者："],
    "en": ["Hello,", "Hi team,", "Dear support,", "Good morning,"],
}
CLOSING = {
    "zh-CN": ["谢谢！", "麻烦尽快回复，谢谢。", "祝好。", "期待您的回复。", "辛苦了，谢谢。"],
    "zh-TW": ["謝謝！", "麻煩盡快回覆，謝謝。", "敬祝 商祺"],
    "en": ["Thanks,", "Best regards,", "Thank you for your help.", "Kind regards,"],
}
ASK = {
    "billing_question": {
        "zh-CN": ["我们公司本月的账单金额比上个月高了很多，请帮忙解释一下费用明细。",
                  "请问发票{inv}的金额{amt}是怎么计算的？",
                  "我们收到了发票{inv}，但是抬头写错了，能否重新开具发票？",
                  "想确认一下下个月的账单什么时候出，我们需要提前走付款流程。",
                  "请提供{date}之前所有发票的电子版，财务要做年度对账。",
                  "账单上 Microsoft 365 E3 的订阅数量和我们实际使用的不一致。",
                  "我们需要增值税专用发票，请问如何申请？发票{inv}能否换开？"],
        "zh-TW": ["您好，我們公司本月的帳單金額有誤，請協助確認發票{inv}。",
                  "請問發票{inv}的金額{amt}是如何計算的？",
                  "請提供{date}之前所有發票的電子檔。"],
        "en": ["We received invoice {inv} for {amt} but the amount does not match our contract.",
               "Could you send us a copy of all invoices issued before {date}?",
               "Please update the billing address printed on invoice {inv}.",
               "Why is this month's bill so much higher than last month's?"],
    },
    "invoice_dispute": {
        "zh-CN": ["我们对发票{inv}有异议，其中有几项 Azure 费用我们没有使用。",
                  "发票{inv}的金额{amt}与合同约定的价格不符，请核实后重新开具发票。",
                  "账单里重复计算了一个订阅，申诉发票{inv}。"],
        "zh-TW": ["我們對發票{inv}有異議，金額{amt}與合約不符。"],
        "en": ["We dispute invoice {inv}: it charges {amt} for licences we cancelled on {date}.",
               "Invoice {inv} double-counts the Azure plan. Please issue a credit note."],
    },
    "payment_problem": {
        "zh-CN": ["我们已经在{date}通过银行转账付款{amt}，但系统仍然显示发票{inv}未付款。",
                  "付款时银行提示失败，请问可以换一种付款方式吗？",
                  "请提供对公账户信息，我们财务要安排发票{inv}的付款。",
                  "付款已经完成，附件是银行回单，请核对发票{inv}。",
                  "为什么我们的付款被重复扣了两次？金额是{amt}。"],
        "zh-TW": ["我們已於{date}付款{amt}，但系統仍顯示發票{inv}未付款。", "付款失敗，請問有其他付款方式嗎？"],
        "en": ["We paid {amt} by bank transfer on {date}, but invoice {inv} still shows as unpaid.",
               "Our card payment failed twice today. Can we pay invoice {inv} by bank transfer instead?",
               "Please send your bank details so finance can pay invoice {inv}."],
    },
    "refund": {
        "zh-CN": ["我们重复付款了，请尽快退款{amt}。", "请问退款需要多长时间到账？发票{inv}已经作废。",
                  "取消订阅后剩余的费用可以退款吗？", "申请退款：{date}多付了{amt}。"],
        "zh-TW": ["我們重複付款了，請盡快退款{amt}。", "請問退款需要多久才會入帳？"],
        "en": ["We were charged twice this month. Please refund the duplicate payment of {amt}.",
               "When will the refund for invoice {inv} reach our account?"],
    },
    "suspension_access": {
        "zh-CN": ["我们的服务被暂停了，但是发票{inv}已经付清，请尽快恢复。",
                  "收到暂停服务的通知，请问还有多少天会删除数据？",
                  "账号暂停后无法登录管理后台，影响业务，请紧急处理。",
                  "为什么在{date}暂停了我们的订阅？付款{amt}昨天已经到账。"],
        "zh-TW": ["服務被暫停了，但發票{inv}已經付清，請盡快恢復。", "收到暫停服務的通知，資料何時會被刪除？"],
        "en": ["Our subscription was suspended even though invoice {inv} is paid. Please restore access.",
               "We got a suspension notice dated {date}. When would our data be deleted?"],
    },
    "technical": {
        "zh-CN": ["Azure 虚拟机无法启动，错误代码是{code}，生产环境受影响。",
                  "Microsoft 365 的邮箱无法登录，请协助排查。", "Teams 会议无法加入，提示许可证过期。"],
        "zh-TW": ["Azure 虛擬機無法啟動，錯誤代碼{code}。"],
        "en": ["Azure VM fails to start with error {code}; production is down.",
               "Exchange Online rejects our users' sign-in since {date}."],
    },
    "fraud_misuse": {
        "zh-CN": ["我们发现订阅里有不认识的虚拟机在挖矿，怀疑账号被盗用，请暂停相关资源。"],
        "zh-TW": ["發現訂閱中有可疑的資源，懷疑帳號被盜用。"],
        "en": ["We see crypto-mining VMs we never created. Please suspend them and check invoice {inv}."],
    },
    "other": {
        "zh-CN": ["我们公司名称变更了，账单和发票上的名称需要同步修改。", "请问如何增加一个财务联系人接收账单？"],
        "zh-TW": ["公司名稱變更，帳單上的名稱需要修改。"],
        "en": ["Our company changed its name; please update it on future invoices.",
               "How do we add a second billing contact?"],
    },
}
FOLLOW_UP = {
    "zh-CN": ["还没有收到回复，请问处理得怎么样了？", "补充一下：付款凭证已经发给财务了，发票{inv}。",
              "我们今天又查了一次，账单仍然不对。", "好的，已经收到，谢谢。退款到账后我们再确认。",
              "请尽快处理，我们的服务还在暂停状态。", "附件是发票{inv}的扫描件，请查收。"],
    "zh-TW": ["還沒有收到回覆，請問處理得如何？", "好的，收到了，謝謝。", "附件是發票{inv}的掃描檔。"],
    "en": ["Any update on this? We still see invoice {inv} as overdue.", "Thanks, that solved it.",
           "Attached is the bank receipt for {amt} paid on {date}.", "Following up: access is still blocked."],
}
ANSWER = {
    "zh-CN": ["感谢您的来信。我们已经核对了发票{inv}，金额{amt}是按照{date}的价格计算的。",
              "您的付款已经到账，发票{inv}的状态已更新为已付款。",
              "我们已经为您提交退款申请，预计5个工作日内到账。",
              "服务暂停已经解除，请重新登录确认。", "请提供付款凭证，以便我们核对账单。",
              "已将您的问题提交给世纪互联，我们会在收到回复后第一时间通知您。",
              "新的发票已经重新开具，请在门户中下载。"],
    "zh-TW": ["感謝您的來信。我們已核對發票{inv}，金額{amt}無誤。", "您的付款已入帳，發票{inv}已更新為已付款。",
              "退款申請已提交，預計5個工作天內入帳。"],
    "en": ["Thank you for reaching out. We have checked invoice {inv}: the amount of {amt} follows the price list of {date}.",
           "Your payment has been received and invoice {inv} is now marked as paid.",
           "We have submitted the refund request; it usually takes 5 working days.",
           "Access has been restored. Please sign in again and tell us if anything is still blocked.",
           "We have escalated this to 21Vianet and will update you as soon as we hear back."],
}
SIGN_OFF = {
    "zh-CN": ["如有其他问题，请随时联系我们。", "此致 账单支持团队"],
    "zh-TW": ["如有其他問題，歡迎隨時與我們聯繫。"],
    "en": ["Let us know if there is anything else.", "Billing support team"],
}
NOTES = ["内部备注：客户上个月也反映过同样的问题，财务已经确认付款到账。",
         "已联系财务核对银行流水，{date}的付款金额{amt}匹配发票{inv}。",
         "Internal: customer is on a payment plan, do not escalate to collections.",
         "客户比较着急，优先处理。账单主管已知悉。", "Checked the ledger: invoice {inv} balance {amt}, overdue since {date}.",
         "退款需要财务审批，已提交 OA 流程。", "可能是重复付款，等银行回单。"]
EVENTS = ["Resolution email accepted by the mail server.", "Status changed: waiting on customer.",
          "Case assigned to the billing team."]
SUBJECT = {
    "zh-CN": ["关于发票{inv}的疑问", "付款问题：发票{inv}", "申请退款", "服务被暂停，请尽快恢复", "账单金额有误",
              "发票{inv}金额争议", "请重新开具发票", "付款未到账", "账单咨询"],
    "zh-TW": ["關於發票{inv}的問題", "付款問題", "退款申請", "服務被暫停", "帳單金額有誤"],
    "en": ["Question about invoice {inv}", "Payment not reflected for {inv}", "Refund request", "Service suspended",
           "Wrong amount on our bill", "Dispute: invoice {inv}"],
}
QUOTE_HEADER = {"zh-CN": "------------------ 原始邮件 ------------------", "zh-TW": "------ 原始郵件 ------",
                "en": "-----Original Message-----"}
SEARCH_WORDS = ["发票", "付款", "退款", "暂停", "账单"]


def _split(template: str) -> list[tuple[str, str | None]]:
    """A template as (text, placeholder) parts: 'a{inv}b' -> [('a', None), ('', 'inv'), ('b', None)]."""
    parts, rest = [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        name, _, rest = tail.partition("}")
        parts += [(head, None), ("", name)]
    parts.append((rest, None))
    return [(t.strip(), n) for t, n in parts if n or t.strip()]


_COMPILED: dict[str, list] = {}


def render(template: str, values: dict) -> list[str]:
    """A template's pieces with its placeholders filled in (each placeholder its own piece)."""
    parts = _COMPILED.get(template)
    if parts is None:
        parts = _COMPILED[template] = _split(template)
    return [values[name] if name else text for text, name in parts]


class Writer:
    """Composes the benchmark's texts for one random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def values(self, year: int) -> dict:
        rng = self.rng
        return {"inv": f"INV-{year}-{rng.randrange(1, 1_000_000):06d}",
                "amt": f"¥{rng.randrange(5_000, 5_000_000) / 100:,.2f}",
                "date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "code": f"0x{rng.getrandbits(24):06X}"}

    def subject(self, lang: str, values: dict) -> list[str]:
        return render(self.rng.choice(SUBJECT[lang]), values)

    def question(self, lang: str, case_type: str, values: dict) -> list[str]:
        rng = self.rng
        pieces = [rng.choice(GREETING[lang])]
        for template in rng.sample(ASK[case_type][lang], k=min(len(ASK[case_type][lang]), rng.randint(1, 3))):
            pieces += render(template, values)
        pieces.append(rng.choice(CLOSING[lang]))
        return pieces

    def follow_up(self, lang: str, values: dict) -> list[str]:
        return render(self.rng.choice(FOLLOW_UP[lang]), values) + [self.rng.choice(CLOSING[lang])]

    def answer(self, lang: str, values: dict) -> list[str]:
        rng = self.rng
        pieces = [rng.choice(GREETING[lang])]
        for template in rng.sample(ANSWER[lang], k=rng.randint(1, 2)):
            pieces += render(template, values)
        return pieces + [rng.choice(SIGN_OFF[lang])]

    def note(self, values: dict) -> list[str]:
        return render(self.rng.choice(NOTES), values)

    def event(self) -> list[str]:
        return [self.rng.choice(EVENTS)]

    def quote(self, lang: str, sender: str, date: str, quoted: list[str]) -> list[str]:
        """Quoted history under a reply, as mail clients add it (kept in the body, trimmed for display)."""
        return ["\n\n" + QUOTE_HEADER[lang], sender, date, "\n>", *quoted[:4]]
