"""Email in, parsing: the messages real senders write, decoded, classified and trimmed (issue 13, item 3).

The samples in mail_samples/ are written byte for byte by mail_samples/make_samples.py.
"""

import base64
import hashlib
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerdesk.support.mail.charsets import decode_bytes, decode_header
from partnerdesk.support.mail.classify import classify
from partnerdesk.support.mail.parsing import (
    MalformedMail,
    ParsedMail,
    case_token,
    normalized_subject,
    parse_message,
)
from partnerdesk.support.mail.trimming import html_to_text, visible_text

SAMPLES = Path(__file__).resolve().parent / "mail_samples"
SAMPLE_NAMES = sorted(path.name for path in SAMPLES.glob("*.eml"))


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def parsed(name: str) -> ParsedMail:
    return parse_message(sample(name))


def message(headers: str, body: str = "Hello.\n") -> bytes:
    base = "From: Li Si <lisi@example.cn>\nTo: support@partner.example\nMessage-ID: <m1@example.cn>\n"
    return (base + headers + "\n" + body).encode("utf-8")


# Charsets and transfer encodings


def test_gb2312_label_with_gbk_characters_reads_as_gb18030():
    mail = parsed("gb2312.eml")
    assert mail.subject == "[#PD-42] 发票金额有误"
    assert (mail.from_name, mail.from_address) == ("王喆", "wangzhe@example.cn")
    assert mail.text == "您好，十一月的发票金额有误，请朱镕核对。\n王喆\n"
    assert case_token(mail.subject) == 42
    assert mail.kind == "normal" and mail.problems == []


def test_gbk_quoted_printable_and_rfc2231_attachment_name():
    mail = parsed("gbk.eml")
    assert mail.subject == "对账单"
    assert mail.text == "请查收附件中的对账单，谢谢。\n"
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.content_type, attachment.content) == (
        "对账单.pdf", "application/pdf", b"%PDF-1.4 statement",
    )


def test_gb18030_four_byte_character_and_encoded_word_filename():
    mail = parsed("gb18030.eml")
    assert mail.text == "我叫䶮，想查询账户余额。\n"
    assert [(a.filename, a.content[:4]) for a in mail.attachments] == [("截图.png", b"\x89PNG")]


def test_big5_with_hong_kong_characters():
    mail = parsed("big5.eml")
    assert (mail.subject, mail.from_name) == ("帳單問題", "陳大文")
    assert mail.text == "你好，我嘅帳單已經付咗款，請確認。\n"


def test_iso_2022_jp_body_and_subject():
    mail = parsed("iso2022jp.eml")
    assert mail.subject == "請求書について"
    assert mail.text == "請求書の金額を確認してください。\n"


def test_latin1_label_on_gbk_bytes_and_raw_8bit_subject():
    mail = parsed("mislabelled_latin1.eml")
    assert mail.subject == "退款申请"
    assert mail.text == "我们多付了一笔款项，申请退款。\n"
    assert any("iso-8859-1" in problem and "gb18030" in problem for problem in mail.problems)


def test_us_ascii_label_on_utf8_bytes():
    assert parsed("mislabelled_ascii.eml").text == "付款已完成，请查收 – thanks.\n"


def test_unknown_charset_and_missing_charset_are_guessed():
    unknown = parsed("unknown_charset.eml")
    assert (unknown.subject, unknown.text) == ("发票", "请开具增值税专用发票。\n")
    assert any("x-unknown-cs" in problem for problem in unknown.problems)
    assert parsed("no_charset_8bit.eml").text == "请开具增值税普通发票。\n"


def test_utf7():
    mail = parsed("utf7.eml")
    assert (mail.subject, mail.text) == ("你好", "你好，余额是多少？\n")


def test_uuencoded_block_becomes_an_attachment_and_leaves_the_text():
    mail = parsed("uuencode.eml")
    [attachment] = mail.attachments
    assert attachment.filename == "invoice-2026-11.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.content == b"%PDF-1.4 uuencoded invoice, " * 3 + bytes(range(256))
    assert "begin 644" not in mail.text and "\nend\n" not in mail.text
    assert mail.text.startswith("Please see the attached invoice.") and "Li Si" in mail.text


def test_html_only_message_gets_a_text_body_and_keeps_the_html():
    mail = parsed("html_only.eml")
    assert "<blockquote>" in mail.html
    assert mail.text.startswith("已经付款了。\nPaid & done.")
    assert "> Your balance is 100.00" in mail.text
    assert visible_text(mail.text) == "已经付款了。\nPaid & done."
    assert mail.in_reply_to == ["pd-out-7@partner.example"]


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("您好，我们的发票金额有误，请帮忙核对一下本月的账单。".encode("gbk"), "big5", "gb18030"),
        ("您好，我們的發票金額有誤，請幫忙核對一下本月的帳單。".encode("big5"), "gb2312", "big5hkscs"),
        ("您好，我們的發票金額有誤，請幫忙核對一下本月的帳單。".encode("big5"), "us-ascii", "big5hkscs"),
        ("中文 utf8".encode(), "gb2312", "UTF-8"),
    ],
)
def test_a_wrong_cjk_label_is_overruled(data, label, expected):
    text, problem = decode_bytes(data, label)
    assert text.startswith(("您好", "中文")) and expected in problem


def test_genuine_western_text_keeps_its_label():
    assert decode_bytes("café für Grüße".encode("latin-1"), "iso-8859-1") == ("café für Grüße", None)
    text, problem = decode_bytes("café".encode("latin-1"), "utf-8")
    assert text == "café" and "windows-1252" in problem


def test_encoded_words_split_inside_a_character_broken_and_with_commas():
    data = "发票问题".encode()
    split = f"=?utf-8?B?{_b64(data[:4])}?=\r\n =?utf-8?B?{_b64(data[4:])}?="
    assert decode_header(split) == "发票问题"
    assert decode_header("=?gb2312?B?1tDOxA?=x") == "中文x"  # no padding, no space after
    assert decode_header("=?utf-8*zh?Q?=E4=BD=A0_ok?=") == "你 ok"
    raw = message(f"Subject: x\nFrom: =?utf-8?B?{_b64(b'Zhang, San')}?= <ZS@Example.CN>\n")
    mail = parse_message(raw.replace(b"From: Li Si <lisi@example.cn>\n", b""))
    assert (mail.from_name, mail.from_address) == ("Zhang, San", "zs@example.cn")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Envelope fields


def test_envelope_fields():
    raw = message(
        "Subject: =?utf-8?B?5Y+R56Wo?=\nCc: A <A@Example.CN>, b@example.cn\nReply-To: Finance <FIN@example.cn>\n"
        "Date: Mon, 30 Nov 2026 10:15:00 +0800\nIn-Reply-To: <pd-1@partner.example> (sent by PartnerDesk)\n"
        "References: <pd-0@partner.example>\n <pd-1@partner.example>\nAuto-Submitted: no\n"
    )
    mail = parse_message(raw)
    assert mail.message_id == "m1@example.cn"
    assert mail.in_reply_to == ["pd-1@partner.example"]
    assert mail.references == ["pd-0@partner.example", "pd-1@partner.example"]
    assert (mail.to, mail.cc, mail.reply_to) == (
        ["support@partner.example"], ["a@example.cn", "b@example.cn"], "fin@example.cn",
    )
    assert mail.date == datetime(2026, 11, 30, 2, 15, tzinfo=UTC)
    assert mail.subject == "发票" and mail.headers["auto-submitted"] == "no"
    assert mail.size == len(raw) and mail.kind == "normal"


def test_missing_message_id_gets_a_stable_synthetic_one_and_zone_less_date_is_utc():
    raw = b"From: a@example.cn\nDate: Mon, 30 Nov 2026 10:15:00 -0000\n\nHi\n"
    assert parse_message(raw).message_id == hashlib.sha256(raw).hexdigest() == parse_message(raw).message_id
    assert parse_message(raw).date == datetime(2026, 11, 30, 10, 15, tzinfo=UTC)


def test_attachment_names_are_decoded_and_made_safe():
    raw = (
        b"From: a@example.cn\nContent-Type: multipart/mixed; boundary=z\n\n"
        b"--z\nContent-Type: text/plain\n\nsee files\n"
        b"--z\nContent-Type: application/pdf\nContent-Disposition: attachment; "
        b"filename*=UTF-8'zh'%E5%8F%91%E7%A5%A8.pdf\n\nPDF\n"
        b"--z\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\n\nx\n"
        b"--z\nContent-Type: application/octet-stream\nContent-Disposition: attachment\n\nraw\n--z--\n"
    )
    mail = parse_message(raw)
    assert [a.filename for a in mail.attachments] == ["发票.pdf", "passwd", "attachment-3.bin"]
    assert mail.text == "see files"


# Classification: loop protection and bounces


@pytest.mark.parametrize(
    "name", ["auto_submitted.eml", "auto_outlook_ooo.eml", "auto_x_autoreply.eml", "auto_subject_zh_hant.eml",
             "read_receipt.eml"],
)
def test_auto_replies(name):
    assert parsed(name).kind == "auto_reply"


def test_bulk_mail():
    assert parsed("bulk_newsletter.eml").kind == "bulk"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Subject: Out of Office: invoice\n", "auto_reply"),
        ("Subject: Auto: invoice\n", "auto_reply"),
        ("Subject: 休假自动回复\n", "auto_reply"),
        ("Subject: 我不在办公室\n", "auto_reply"),
        ("Subject: Re: invoice\nX-Autorespond: yes\n", "auto_reply"),
        ("Subject: invoice\nAuto-Submitted: auto-generated\n", "auto_reply"),
        ("Subject: invoice\nX-Auto-Response-Suppress: OOF\n", "auto_reply"),
        ("Subject: Delayed Mail (still being retried)\n", "delay"),
        ("Subject: invoice\nPrecedence: junk\n", "bulk"),
        ("Subject: invoice\nPrecedence: list\n", "bulk"),
        ("Subject: invoice\nList-Id: <finance.example.cn>\n", "bulk"),
        ("Subject: invoice\nAuto-Submitted: no\n", "normal"),
        ("Subject: Re: office supplies on the invoice\n", "normal"),
        ("Subject: Delivery Status Notification (Delay)\n", "delay"),
    ],
)
def test_classify_by_headers_and_subject(headers, kind):
    assert parse_message(message(headers)).kind == kind


@pytest.mark.parametrize(
    ("name", "ids", "recipients"),
    [
        ("bounce.eml", ["pd-out-42@partner.example"], ["nobody@example.cn"]),
        ("bounce_rfc822.eml", ["pd-out-77@partner.example"], ["gone@example.com"]),
        ("bounce_plain.eml", ["pd-out-91@partner.example"], ["old@example.cn"]),
    ],
)
def test_bounces_name_the_original_message_and_recipient(name, ids, recipients):
    mail = parsed(name)
    assert mail.kind == "bounce"
    assert (mail.bounced_message_ids, mail.bounced_recipients) == (ids, recipients)


def test_bounce_ids_fall_back_to_threading_headers():
    raw = message(
        "Subject: Undeliverable: Invoice\nReturn-Path: <>\nIn-Reply-To: <pd-out-5@partner.example>\n"
    )
    mail = parse_message(raw)
    assert (mail.kind, mail.bounced_message_ids) == ("bounce", ["pd-out-5@partner.example"])


def test_delay_notice_is_not_a_bounce():
    mail = parsed("delay.eml")
    assert mail.kind == "delay"
    assert (mail.bounced_message_ids, mail.bounced_recipients) == (["pd-out-60@partner.example"], ["slow@example.cn"])
    assert classify(mail) == "delay"


# QQ Mail, threading helpers and trimming


def test_qq_mail_reply_without_threading_headers():
    mail = parsed("qq_reply.eml")
    assert (mail.in_reply_to, mail.references) == ([], [])
    assert mail.subject == "回复：[#PD-123] 发票已开具"
    assert case_token(mail.subject) == 123
    assert normalized_subject(mail.subject) == "发票已开具"
    assert (mail.from_name, mail.from_address) == ("张三", "zhangsan@qq.com")
    assert "原始邮件" in mail.text and "您好，发票已开具" in mail.text  # the original is kept
    assert visible_text(mail.text) == "好的，已经收到发票，谢谢！"
    assert mail.kind == "normal"


@pytest.mark.parametrize(
    ("subject", "token"),
    [("Re: [#PD-123] x", 123), ("[#pd-7]", 7), ("回复：【#PD-9】发票", 9), ("PD-123", None), ("[#PD-]", None), ("", None)],
)
def test_case_token(subject, token):
    assert case_token(subject) == token


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: FW: [#PD-5]  Invoice   Question", "invoice question"),
        ("回复：回覆: 答复：转发: 轉寄：发票问题", "发票问题"),
        ("[#PD-5] re:Re[2]: Invoice", "invoice"),
        ("  ", ""),
    ],
)
def test_normalized_subject(subject, expected):
    assert normalized_subject(subject) == expected


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("Thanks, paid.\n\nOn Mon, Nov 30, 2026 at 10:00 AM Support <s@x.com>\nwrote:\n> balance 100\n",
         "Thanks, paid."),
        ("已付款。\n\n在 2026年11月30日 10:00，PartnerDesk <s@x.com> 写道：\n> 余额 100\n", "已付款。"),
        ("已付款。\nPartnerDesk <s@x.com> 于2026年11月30日周一 10:00写道：\n> 余额\n", "已付款。"),
        ("Paid.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold\n", "Paid."),
        ("Paid.\n\n________________________________\nFrom: S <s@x.com>\nSent: Monday\nTo: me\n\nold\n", "Paid."),
        ("好的\n\n发件人: Support <s@x.com>\n发送时间: 2026年11月30日 10:00\n收件人: me\n\nold\n", "好的"),
        ("Paid.\n\nSent from my iPhone\n\n> old", "Paid."),
        ("已付\n\n发自我的iPhone\n", "已付"),
        ("Paid.\n-- \nZhang San\nCFO\n", "Paid."),
        ("> old question?\nmy inline answer\n> other\nanother answer\n", "my inline answer\nanother answer"),
        ("From: the accountant, I heard the invoice is wrong.\nPlease check.",
         "From: the accountant, I heard the invoice is wrong.\nPlease check."),
        ("> everything quoted\n", "> everything quoted"),
    ],
)
def test_visible_text(text, visible):
    assert visible_text(text) == visible


def test_html_to_text_keeps_lines_lists_and_quotes():
    html = "<p>Hi&nbsp;there</p><ul><li>one</li><li>two</li></ul><script>x()</script><blockquote>old</blockquote>"
    assert html_to_text(html) == "Hi there\n- one\n- two\n> old"


# Malformed input: something usable, or MalformedMail, never another exception


def test_declared_boundary_missing_from_the_body_is_recovered():
    mail = parsed("malformed_boundary.eml")
    assert mail.text == "边界写错了。"
    assert [(a.filename, a.content[:4]) for a in mail.attachments] == [("x.bin", b"\x00\x01\x02\x03")]
    assert any("boundary" in problem for problem in mail.problems)
    assert mail.message_id == hashlib.sha256(sample("malformed_boundary.eml")).hexdigest()


def test_broken_headers_and_multipart_without_boundary_still_parse():
    mail = parsed("malformed_headers.eml")
    assert mail.subject.startswith("中文x")
    assert (mail.from_address, mail.date) == ("", None)
    assert mail.text == "body without parts\n"
    assert any("Date" in problem for problem in mail.problems)


def test_headerless_message_is_read_as_text():
    mail = parsed("malformed_noheaders.eml")
    assert "this has no headers" in mail.text and mail.from_address == ""


@pytest.mark.parametrize("raw", [b"", b"  \r\n\r\n ", bytes(range(32)) * 4])
def test_nothing_usable_raises_malformed_mail(raw):
    with pytest.raises(MalformedMail):
        parse_message(raw)


def test_deeply_nested_mime_does_not_escape_as_recursion_error():
    raw = b"From: a@example.cn\nSubject: deep\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(3000)
    ) + b"Content-Type: text/plain\n\nhello\n"
    mail = parse_message(raw)
    assert mail.subject == "deep" and "hello" in mail.text


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_parse_or_raise_malformed_mail(raw):
    _parse_or_malformed(raw)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLE_NAMES),
    st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=12), st.integers(0, 40)), min_size=1, max_size=12),
)
def test_mutated_samples_parse_or_raise_malformed_mail(name, edits):
    data = bytearray(sample(name))
    for where, insert, cut in edits:
        position = int(where * len(data))
        data[position:position + cut] = insert
    _parse_or_malformed(bytes(data))


def test_seeded_mutations_of_every_sample():
    rng = random.Random(13)
    pieces = [b"\n--", b"=?", b"?=", b"begin 644 x\n", b"\nend\n", b"\n\n", b"boundary=", b"charset=utf-7",
              b"Content-Transfer-Encoding: base64\n", b"filename*0*=utf-8''%E4", b"\xff\xfe", b"\x1b$B"]
    originals = [sample(name) for name in SAMPLE_NAMES]
    for _ in range(3000):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 15)):
            position = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.4 and data:
                data[min(position, len(data) - 1)] = rng.randrange(256)
            elif choice < 0.7:
                del data[position:position + rng.randint(1, 30)]
            else:
                data[position:position] = rng.choice(pieces)
        _parse_or_malformed(bytes(data))


def _parse_or_malformed(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except MalformedMail:
        return
    assert isinstance(mail.text, str) and isinstance(mail.subject, str) and mail.message_id
    assert mail.kind in ("normal", "auto_reply", "bulk", "bounce", "delay")
    assert mail.date is None or mail.date.tzinfo is not None


def test_parsing_needs_no_django():
    code = (
        "import sys, partnerdesk.support.mail.parsing, partnerdesk.support.mail.classify, "
        "partnerdesk.support.mail.trimming; "
        "sys.exit(any(name.startswith('django') for name in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3]).returncode == 0
