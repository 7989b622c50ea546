"""Writes the sample messages of this folder, byte for byte: `python make_samples.py` (run from anywhere).

Each sample is one case of issue 13 item 3 (email in). They are built from bytes here rather than by the
email package, because the point is the damage real senders do: wrong labels, raw 8-bit, broken MIME.
"""

import base64
import binascii
import hashlib
import quopri
from pathlib import Path

HERE = Path(__file__).resolve().parent


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def word(text: str, charset: str, codec: str | None = None) -> bytes:
    """An RFC 2047 B encoded-word."""
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(text.encode(codec or charset)) + b"?="


def head(subject: bytes, extra: bytes = b"", sender: bytes = b"Zhang San <zhangsan@example.cn>") -> bytes:
    return (
        b"From: " + sender + b"\n"
        b"To: support@partner.example\n"
        b"Subject: " + subject + b"\n"
        b"Date: Mon, 30 Nov 2026 10:15:00 +0800\n"
        b"Message-ID: <sample-" + hashlib.sha256(subject).hexdigest()[:12].encode() + b"@example.cn>\n"
        b"MIME-Version: 1.0\n" + extra
    )


SAMPLES: dict[str, bytes] = {}

# GB2312 label, but the name 王喆 and 镕 are GBK-only characters: must be decoded as GB18030.
SAMPLES["gb2312.eml"] = (
    b"From: " + word("王喆", "gb2312", "gbk") + b" <wangzhe@example.cn>\n"
    b"To: support@partner.example\n"
    b"Subject: " + word("[#PD-42] 发票金额有误", "gb2312", "gbk") + b"\n"
    b"Date: Mon, 30 Nov 2026 10:15:00 +0800\n"
    b"Message-ID: <gb2312-1@example.cn>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=gb2312\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64("您好，十一月的发票金额有误，请朱镕核对。\n王喆\n".encode("gbk"))
)

# GBK, quoted-printable, an attachment whose name is RFC 2231 encoded in GBK, with continuations.
_GBK_BODY = quopri.encodestring("请查收附件中的对账单，谢谢。\n".encode("gbk"))
SAMPLES["gbk.eml"] = head(
    word("对账单", "gbk"),
    b"Content-Type: multipart/mixed; boundary=\"b1\"\n",
) + (
    b"\n--b1\n"
    b"Content-Type: text/plain; charset=GBK\n"
    b"Content-Transfer-Encoding: quoted-printable\n\n" + _GBK_BODY + b"\n"
    b"--b1\n"
    b"Content-Type: application/pdf\n"
    b"Content-Disposition: attachment;\n"
    b" filename*0*=gbk''%B6%D4%D5%CB;\n"
    b" filename*1*=%B5%A5.pdf\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64(b"%PDF-1.4 statement") + b"--b1--\n"
)

# GB18030 with a four-byte character (U+4DAE) and an RFC 2047 attachment name.
SAMPLES["gb18030.eml"] = head(word("余额查询", "gb18030")) + (
    b"Content-Type: multipart/mixed; boundary=\"b2\"\n\n"
    b"--b2\n"
    b"Content-Type: text/plain; charset=\"GB18030\"\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + "我叫䶮，想查询账户余额。\n".encode("gb18030") + b"\n"
    b"--b2\n"
    b"Content-Type: image/png; name=\"" + word("截图.png", "gb18030") + b"\"\n"
    b"Content-Disposition: attachment; filename=\"" + word("截图.png", "gb18030") + b"\"\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64(b"\x89PNG\r\n\x1a\nfake") + b"--b2--\n"
)

# Big5 label, Hong Kong characters (嘅, 咗) that only Big5-HKSCS has.
SAMPLES["big5.eml"] = (
    b"From: " + word("陳大文", "big5") + b" <chan@example.hk>\n"
    b"To: support@partner.example\n"
    b"Subject: " + word("帳單問題", "big5") + b"\n"
    b"Date: Mon, 30 Nov 2026 10:15:00 +0800\n"
    b"Message-ID: <big5-1@example.hk>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=big5\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + "你好，我嘅帳單已經付咗款，請確認。\n".encode("big5hkscs")
)

# ISO-2022-JP: 7-bit escapes in the body and in an encoded-word.
SAMPLES["iso2022jp.eml"] = head(word("請求書について", "ISO-2022-JP", "iso2022_jp")) + (
    b"Content-Type: text/plain; charset=ISO-2022-JP\n"
    b"Content-Transfer-Encoding: 7bit\n\n" + "請求書の金額を確認してください。\n".encode("iso2022_jp")
)

# Mislabelled: says iso-8859-1, carries GBK; the subject is raw 8-bit GBK with no encoded-word at all.
SAMPLES["mislabelled_latin1.eml"] = head("退款申请".encode("gbk")) + (
    b"Content-Type: text/plain; charset=iso-8859-1\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + "我们多付了一笔款项，申请退款。\n".encode("gbk")
)

# Mislabelled: says us-ascii, carries UTF-8.
SAMPLES["mislabelled_ascii.eml"] = head(b"Payment question") + (
    b"Content-Type: text/plain; charset=us-ascii\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + "付款已完成，请查收 – thanks.\n".encode()
)

# Unknown charset name; 8-bit GBK body with no charset at all in a second part.
SAMPLES["unknown_charset.eml"] = head(word("发票", "x-unknown-cs", "gbk")) + (
    b"Content-Type: text/plain; charset=x-unknown-cs\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + "请开具增值税专用发票。\n".encode("gbk")
)
SAMPLES["no_charset_8bit.eml"] = head(b"Invoice") + (
    b"Content-Transfer-Encoding: 8bit\n\n" + "请开具增值税普通发票。\n".encode("gbk")
)

# UTF-7.
SAMPLES["utf7.eml"] = head(word("你好", "utf-7")) + (
    b"Content-Type: text/plain; charset=utf-7\n\n" + "你好，余额是多少？\n".encode("utf-7")
)

# A uuencoded attachment inside a plain text body (old Outlook Express / Foxmail habit).
UU_CONTENT = b"%PDF-1.4 uuencoded invoice, " * 3 + bytes(range(256))
_UU = b"".join(binascii.b2a_uu(UU_CONTENT[i:i + 45]) for i in range(0, len(UU_CONTENT), 45))
SAMPLES["uuencode.eml"] = head(b"Invoice attached") + (
    b"Content-Type: text/plain; charset=us-ascii\n\n"
    b"Please see the attached invoice.\n\n"
    b"begin 644 invoice-2026-11.pdf\n" + _UU + b"`\nend\n\nRegards,\nLi Si\n"
)

# HTML only (utf-8), with a Gmail-style quote.
SAMPLES["html_only.eml"] = head(b"Re: [#PD-7] Balance", b"In-Reply-To: <pd-out-7@partner.example>\n") + (
    b"Content-Type: text/html; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n\n" + quopri.encodestring(
        "<html><head><style>p{}</style></head><body><div>已经付款了。<br>Paid &amp; done.</div>"
        "<div class=\"gmail_quote\"><div>On Mon, Nov 30, 2026 Support &lt;support@partner.example&gt; wrote:"
        "</div><blockquote><p>Your balance is 100.00</p></blockquote></div></body></html>\n".encode()
    )
)

# QQ Mail: no threading headers, full-width colon in the subject, GB18030 base64 alternative parts,
# and the quoted original under QQ's separator.
_QQ_TEXT = (
    "好的，已经收到发票，谢谢！\n\n\n"
    "------------------ 原始邮件 ------------------\n"
    "发件人: \"PartnerDesk\"<support@partner.example>;\n"
    "发送时间: 2026年11月30日(星期一) 上午10:00\n"
    "收件人: \"张三\"<zhangsan@qq.com>;\n"
    "主题: [#PD-123] 发票已开具\n\n"
    "您好，发票已开具，请查收。\n"
)
SAMPLES["qq_reply.eml"] = (
    b"From: \"" + word("张三", "gb18030") + b"\" <zhangsan@qq.com>\n"
    b"To: \"support\" <support@partner.example>\n"
    b"Subject: " + word("回复：[#PD-123] 发票已开具", "gb18030") + b"\n"
    b"Mime-Version: 1.0\n"
    b"Date: Mon, 30 Nov 2026 10:30:00 +0800\n"
    b"X-Mailer: QQMail 2.x\n"
    b"Message-ID: <tencent_ABC123@qq.com>\n"
    b"Content-Type: multipart/alternative;\n\tboundary=\"----=_NextPart_6745_0A1B\"\n\n"
    b"This is a multi-part message in MIME format.\n\n"
    b"------=_NextPart_6745_0A1B\n"
    b"Content-Type: text/plain;\n\tcharset=\"gb18030\"\n"
    b"Content-Transfer-Encoding: base64\n\n" + b64(_QQ_TEXT.encode("gb18030")) + b"\n"
    b"------=_NextPart_6745_0A1B\n"
    b"Content-Type: text/html;\n\tcharset=\"gb18030\"\n"
    b"Content-Transfer-Encoding: base64\n\n"
    + b64("<div>好的，已经收到发票，谢谢！</div><div>------------------&nbsp;原始邮件&nbsp;------------------</div>"
          .encode("gb18030")) + b"\n"
    b"------=_NextPart_6745_0A1B--\n"
)

# Auto-replies of several kinds.
SAMPLES["auto_submitted.eml"] = head(
    word("自动回复: [#PD-9] 发票", "utf-8"), b"Auto-Submitted: auto-replied\nContent-Type: text/plain; charset=utf-8\n\n"
) + "我正在休假，12月7日返回。\n".encode()
SAMPLES["auto_outlook_ooo.eml"] = head(
    b"Automatic reply: Your invoice", b"X-Auto-Response-Suppress: All\nContent-Type: text/plain\n\n"
) + b"I am out of the office until Monday.\n"
SAMPLES["auto_x_autoreply.eml"] = head(b"Re: Your invoice", b"X-Autoreply: yes\n\n") + b"Thanks, got it.\n"
SAMPLES["auto_subject_zh_hant.eml"] = head(word("自動回覆：帳單", "utf-8"), b"Content-Type: text/plain; charset=utf-8\n\n") + (
    "我目前不在辦公室。\n".encode()
)
SAMPLES["bulk_newsletter.eml"] = head(
    b"November newsletter",
    b"Precedence: bulk\nList-Unsubscribe: <mailto:unsub@news.example>\nList-Id: <news.example>\n\n",
    sender=b"News <news@news.example>",
) + b"Our November news.\n"
SAMPLES["read_receipt.eml"] = head(
    b"Read: Your invoice",
    b"Content-Type: multipart/report; report-type=disposition-notification; boundary=\"r1\"\n",
) + (
    b"\n--r1\nContent-Type: text/plain\n\nYour message was read.\n"
    b"--r1\nContent-Type: message/disposition-notification\n\n"
    b"Final-Recipient: rfc822; zhangsan@example.cn\n"
    b"Original-Message-ID: <pd-out-55@partner.example>\n"
    b"Disposition: manual-action/MDN-sent-manually; displayed\n"
    b"--r1--\n"
)

# A Postfix bounce: multipart/report, Action failed, the original's headers as text/rfc822-headers.
_REPORT = (
    b"Reporting-MTA: dns; mx.partner.example\n"
    b"Arrival-Date: Mon, 30 Nov 2026 10:00:00 +0800 (CST)\n\n"
    b"Final-Recipient: rfc822; nobody@example.cn\n"
    b"Original-Recipient: rfc822;nobody@example.cn\n"
    b"Action: failed\n"
    b"Status: 5.1.1\n"
    b"Remote-MTA: dns; mx.example.cn\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.cn>: Recipient address rejected\n"
)
SAMPLES["bounce.eml"] = (
    b"Return-Path: <>\n"
    b"From: MAILER-DAEMON@mx.partner.example (Mail Delivery System)\n"
    b"To: billing@partner.example\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"Date: Mon, 30 Nov 2026 10:00:05 +0800 (CST)\n"
    b"Message-ID: <20261130020005.ABC@mx.partner.example>\n"
    b"Auto-Submitted: auto-replied\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"ABC.1\"\n\n"
    b"This is a MIME-encapsulated message.\n\n"
    b"--ABC.1\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
    b"I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
    b"<nobody@example.cn>: host mx.example.cn said: 550 5.1.1 Recipient address rejected\n\n"
    b"--ABC.1\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n" + _REPORT + b"\n"
    b"--ABC.1\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
    b"From: billing@partner.example\nTo: nobody@example.cn\nSubject: Invoice INV-2026-0042\n"
    b"Message-ID: <pd-out-42@partner.example>\nDate: Mon, 30 Nov 2026 10:00:00 +0800\n\n"
    b"--ABC.1--\n"
)

# Gmail-style bounce: the whole original as message/rfc822.
SAMPLES["bounce_rfc822.eml"] = (
    b"Return-Path: <>\n"
    b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
    b"To: billing@partner.example\n"
    b"Subject: Delivery Status Notification (Failure)\n"
    b"Message-ID: <gmail-bounce-1@mx.google.com>\n"
    b"Content-Type: multipart/report; boundary=\"g1\"; report-type=delivery-status\n\n"
    b"--g1\nContent-Type: text/plain; charset=UTF-8\n\nAddress not found.\n"
    b"--g1\nContent-Type: message/delivery-status\n\n"
    b"Reporting-MTA: dns; googlemail.com\n\n"
    b"Final-Recipient: rfc822; gone@example.com\nAction: failed\nStatus: 5.1.1\n\n"
    b"--g1\nContent-Type: message/rfc822\n\n"
    b"From: billing@partner.example\nTo: gone@example.com\nSubject: Reminder\n"
    b"Message-ID: <pd-out-77@partner.example>\n\nPlease pay.\n"
    b"--g1--\n"
)

# A qmail bounce: plain text, From MAILER-DAEMON, the original Message-ID only as a line in the body.
SAMPLES["bounce_plain.eml"] = (
    b"Return-Path: <>\n"
    b"From: MAILER-DAEMON@mail.example.cn\n"
    b"To: billing@partner.example\n"
    b"Subject: failure notice\n"
    b"Message-ID: <qmail-1@mail.example.cn>\n\n"
    b"Hi. This is the qmail-send program at mail.example.cn.\n"
    b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
    b"<old@example.cn>:\nSorry, no mailbox here by that name.\n\n"
    b"--- Below this line is a copy of the message.\n\n"
    b"From: billing@partner.example\nMessage-ID: <pd-out-91@partner.example>\nSubject: Overdue\n"
)

# A delay notice: multipart/report with Action delayed.
SAMPLES["delay.eml"] = (
    b"Return-Path: <>\n"
    b"From: Mail Delivery System <MAILER-DAEMON@mx.partner.example>\n"
    b"To: billing@partner.example\n"
    b"Subject: Delayed Mail (still being retried)\n"
    b"Message-ID: <delay-1@mx.partner.example>\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"d1\"\n\n"
    b"--d1\nContent-Type: text/plain\n\nThis is a warning only; do not resend.\n"
    b"--d1\nContent-Type: message/delivery-status\n\n"
    b"Reporting-MTA: dns; mx.partner.example\n\n"
    b"Final-Recipient: rfc822; slow@example.cn\nAction: delayed\nStatus: 4.4.1\n"
    b"Will-Retry-Until: Fri, 4 Dec 2026 10:00:00 +0800\n\n"
    b"--d1\nContent-Type: text/rfc822-headers\n\n"
    b"Message-ID: <pd-out-60@partner.example>\nSubject: Invoice\n\n"
    b"--d1--\n"
)

# Malformed: the body uses a boundary other than the declared one, a truncated base64 part, no Date.
SAMPLES["malformed_boundary.eml"] = (
    b"From: someone@example.cn\nSubject: broken\n"
    b"Content-Type: multipart/mixed; boundary=\"declared\"\n\n"
    b"--actual\nContent-Type: text/plain; charset=utf-8\n\n" + "边界写错了。\n".encode() +
    b"--actual\nContent-Type: application/octet-stream; name=x.bin\nContent-Transfer-Encoding: base64\n\n"
    b"AAECAwQFBgcICQ\n--actual--\n"
)
# Malformed: no headers at all, CRLF, a few garbage bytes, a lone encoded-word.
SAMPLES["malformed_noheaders.eml"] = (
    b"\r\nthis has no headers =?utf-8?B?5L2g?= \xff\xfe and stray bytes\r\n"
)
# Malformed: headers only, broken encoded-words and a broken date, multipart with no boundary at all.
SAMPLES["malformed_headers.eml"] = (
    b"From: =?utf-8?B?broken?= <<bad@@example..cn>\n"
    b"Subject: =?gb2312?B?1tDOxA?= =?unknown?Q?x?= =?utf-8?B?\n"
    b"Date: someday soon\n"
    b"Message-ID: \n"
    b"Content-Type: multipart/mixed\n\n"
    b"body without parts\n"
)


def main() -> None:
    for name, data in SAMPLES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(SAMPLES)} samples to {HERE}")


if __name__ == "__main__":
    main()
