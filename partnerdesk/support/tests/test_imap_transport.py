"""How email comes in: over IMAP, against a real Dovecot (what is taken is handed over as it is, and marked
only after), and from files for the CLI (.eml, a folder of them, an mbox, a Maildir)."""

import mailbox

import pytest

from partnerdesk.support.mail.imap import (
    MailboxError,
    decode_folder_name,
    encode_folder_name,
    fetch,
    mailbox_settings_from_django,
)
from partnerdesk.support.mail.sources import iter_raw_messages
from partnerdesk.support.tests.dovecot import DovecotServer, free_port, make_self_signed_cert

PROCESSED = "PartnerDesk/Processed"


def message(subject: str, body: bytes = b"Hello, a question about my invoice.") -> bytes:
    return (b"From: Li Lei <billing@contoso.example.cn>\r\nTo: support@partner.example.cn\r\n"
            b"Subject: " + subject.encode() + b"\r\nMessage-ID: <" + subject.replace(" ", ".").encode()
            + b"@contoso.example.cn>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n")


class Collector:
    """A handle that keeps what it is given and can refuse the messages whose subject it names."""

    def __init__(self, refuse: str | None = None):
        self.raws: list[bytes] = []
        self.refuse = refuse

    def __call__(self, raw: bytes) -> None:
        if self.refuse and f"Subject: {self.refuse}\r\n".encode() in raw:
            raise RuntimeError("database unavailable")
        self.raws.append(raw)


def test_messages_are_handed_over_byte_for_byte_then_moved_to_the_processed_folder(dovecot):
    raws = [message("invoice 1", "请问发票 INV-2026-0001 的金额？".encode("gbk")),
            message("invoice 2", b"x" * 5000 + b"\r\n\tfolded\r\n.\r\n")]
    uids = [dovecot.append(raw) for raw in raws]
    seen_while_storing = []

    def handle(raw):
        # Nothing is marked before the caller has stored the message.
        uid = uids[raws.index(raw)]
        seen_while_storing.append(("\\Seen" in dovecot.fetch_flags(uid), uid in dovecot.list_uids()))
        stored.append(raw)

    stored = []
    result = fetch(dovecot.settings(), handle)

    assert (result.taken, result.failed, result.errors, result.left) == (2, 0, [], 0)
    assert stored == raws
    assert seen_while_storing == [(False, True), (False, True)]
    assert dovecot.list_uids("INBOX") == []
    assert PROCESSED in dovecot.folders()
    moved = dovecot.list_uids(PROCESSED)
    assert [dovecot.fetch_raw(uid, PROCESSED) for uid in moved] == raws

    again = Collector()
    assert fetch(dovecot.settings(), again).taken == 0
    assert again.raws == []


def test_without_a_processed_folder_taken_messages_are_flagged_seen_in_place(dovecot):
    uid = dovecot.append(message("payment question"))
    collector = Collector()

    result = fetch(dovecot.settings(processed_folder=None), collector)

    assert result.taken == 1 and collector.raws == [message("payment question")]
    assert dovecot.list_uids("INBOX") == [uid]
    assert "\\Seen" in dovecot.fetch_flags(uid)
    assert PROCESSED not in dovecot.folders()
    assert fetch(dovecot.settings(processed_folder=None), Collector()).taken == 0


def test_a_message_that_cannot_be_stored_stays_unseen_in_the_inbox_and_is_taken_next_time(dovecot):
    first, broken, last = (dovecot.append(message(s)) for s in ("first", "broken", "last"))

    result = fetch(dovecot.settings(), Collector(refuse="broken"))

    assert (result.taken, result.failed) == (2, 1)
    assert result.errors == [f"UID {broken}: RuntimeError: database unavailable"]
    assert dovecot.list_uids("INBOX") == [broken]
    assert "\\Seen" not in dovecot.fetch_flags(broken)
    assert len(dovecot.list_uids(PROCESSED)) == 2

    retry = Collector()
    assert fetch(dovecot.settings(), retry).taken == 1
    assert retry.raws == [message("broken")]
    assert dovecot.list_uids("INBOX") == []
    assert fetch(dovecot.settings(), Collector()).taken == 0


def test_a_failed_folder_takes_what_could_not_be_stored(dovecot):
    dovecot.append(message("fine"))
    dovecot.append(message("broken"))

    result = fetch(dovecot.settings(failed_folder="PartnerDesk/Failed"), Collector(refuse="broken"))

    assert (result.taken, result.failed) == (1, 1)
    assert dovecot.list_uids("INBOX") == []
    [kept] = dovecot.list_uids("PartnerDesk/Failed")
    assert "\\Seen" not in dovecot.fetch_flags(kept, "PartnerDesk/Failed")
    assert dovecot.fetch_raw(kept, "PartnerDesk/Failed") == message("broken")


def test_limit_leaves_the_rest_for_the_next_run(dovecot):
    for n in range(3):
        dovecot.append(message(f"m{n}"))

    first = fetch(dovecot.settings(), Collector(), limit=2)
    second = fetch(dovecot.settings(), Collector(), limit=2)

    assert (first.taken, first.left) == (2, 1)
    assert (second.taken, second.left) == (1, 0)


def test_a_processed_folder_with_a_chinese_name_is_created(dovecot):
    dovecot.append(message("hello"))

    assert fetch(dovecot.settings(processed_folder="客服/已处理"), Collector()).taken == 1

    assert "客服/已处理" in dovecot.folders()
    assert len(dovecot.list_uids("客服/已处理")) == 1


def test_plain_imap_when_ssl_is_off(dovecot):
    dovecot.append(message("over plain imap"))

    result = fetch(dovecot.settings(use_ssl=False, port=dovecot.plain_port, cafile=None), Collector())

    assert result.taken == 1


def test_the_django_settings_select_the_mailbox(dovecot, settings):
    settings.SUPPORT_MAILBOX = {"HOST": ""}
    assert mailbox_settings_from_django() is None

    settings.SUPPORT_MAILBOX = dovecot.django_setting(PROCESSED_FOLDER="")
    configured = mailbox_settings_from_django()
    assert (configured.host, configured.port, configured.username) == (dovecot.host, dovecot.port, dovecot.user)
    assert configured.use_ssl and configured.cafile == dovecot.cafile and configured.processed_folder is None
    uid = dovecot.append(message("via settings"))
    assert fetch(configured, Collector()).taken == 1
    assert "\\Seen" in dovecot.fetch_flags(uid)

    settings.SUPPORT_MAILBOX = {"HOST": "imap.example.cn", "SSL": False, "PORT": 0, "PROCESSED_FOLDER": PROCESSED}
    defaults = mailbox_settings_from_django()
    assert (defaults.port, defaults.folder, defaults.processed_folder, defaults.cafile) == (143, "INBOX", PROCESSED, None)


def test_a_wrong_password_is_a_mailbox_error_and_takes_nothing(dovecot):
    uid = dovecot.append(message("kept"))

    with pytest.raises(MailboxError, match=f"IMAP login to {dovecot.host}:{dovecot.port} as {dovecot.user} failed"):
        fetch(dovecot.settings(password="wrong"), Collector())

    assert dovecot.list_uids("INBOX") == [uid]


def test_an_untrusted_certificate_is_a_mailbox_error(dovecot, tmp_path):
    dovecot.append(message("kept"))

    with pytest.raises(MailboxError, match="not trusted by the system's certificate authorities"):
        fetch(dovecot.settings(cafile=None), Collector())

    other = tmp_path / "other.pem"
    make_self_signed_cert(other, tmp_path / "other.key")
    with pytest.raises(MailboxError, match=f"not trusted by the CA file {other}"):
        fetch(dovecot.settings(cafile=str(other)), Collector())

    assert len(dovecot.list_uids("INBOX")) == 1


def test_an_unreachable_server_or_a_missing_folder_is_a_mailbox_error(dovecot):
    with pytest.raises(MailboxError, match="cannot connect to IMAP server"):
        fetch(dovecot.settings(port=free_port()), Collector())
    with pytest.raises(MailboxError, match="cannot open folder 'Nowhere'"):
        fetch(dovecot.settings(folder="Nowhere"), Collector())


@pytest.fixture(scope="module")
def dovecot_without_move():
    """A server that announces no MOVE (as some older ones do), so the client copies and expunges."""
    server = DovecotServer(capabilities="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE UIDPLUS").start()
    yield server
    server.stop()


def test_without_move_messages_are_copied_then_expunged(dovecot_without_move):
    mailbox = dovecot_without_move.add_user()
    raws = [message("copy 1"), message("copy 2")]
    for raw in raws:
        mailbox.append(raw)
    collector = Collector()

    result = fetch(mailbox.settings(), collector)

    assert result.taken == 2 and result.errors == []
    assert collector.raws == raws
    assert mailbox.list_uids("INBOX") == []
    assert [mailbox.fetch_raw(uid, PROCESSED) for uid in mailbox.list_uids(PROCESSED)] == raws
    assert fetch(mailbox.settings(), Collector()).taken == 0


def test_folder_names_use_modified_utf7():
    for name in ("INBOX", "已处理", "Tom & Jerry", "客服/已处理", "Ünïcødé ∑ ~"):
        assert decode_folder_name(encode_folder_name(name)) == name
    assert encode_folder_name("Tom & Jerry") == "Tom &- Jerry"
    assert encode_folder_name("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501's example


# --- files (the CLI) --------------------------------------------------------------------------------------------


def test_an_mbox_gives_each_message_without_its_envelope_line(tmp_path):
    path = tmp_path / "export.mbox"
    path.write_bytes(
        b"From billing@contoso.example.cn Tue Nov 24 10:00:00 2026\n"
        b"Subject: one\n\nhello\n>From the start of a line\n\n"
        b"From li@fabrikam.example.cn Tue Nov 24 11:00:00 2026\n"
        b"Subject: =?GBK?B?uPbDxQ==?=\n\n" + "第二封".encode("gbk") + b"\n"
    )

    got = list(iter_raw_messages(path))

    assert got == [
        ("export.mbox#1", b"Subject: one\n\nhello\n>From the start of a line\n"),
        ("export.mbox#2", b"Subject: =?GBK?B?uPbDxQ==?=\n\n" + "第二封".encode("gbk") + b"\n"),
    ]


def test_an_mbox_is_recognised_by_its_first_line_whatever_its_name(tmp_path):
    box = mailbox.mbox(tmp_path / "Inbox", create=True)
    for n in range(3):
        box.add(message(f"m{n}").replace(b"\r\n", b"\n"))
    box.close()

    got = list(iter_raw_messages(tmp_path / "Inbox"))

    assert [label for label, _ in got] == ["Inbox#1", "Inbox#2", "Inbox#3"]
    assert [raw for _, raw in got] == [message(f"m{n}").replace(b"\r\n", b"\n") for n in range(3)]


def test_a_maildir_gives_new_then_cur(tmp_path):
    (tmp_path / "Maildir").mkdir()
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir()
    (tmp_path / "Maildir" / "new" / "1700000002.M1.host").write_bytes(message("unread"))
    (tmp_path / "Maildir" / "cur" / "1700000001.M1.host:2,S").write_bytes(message("read"))
    (tmp_path / "Maildir" / "tmp" / "1700000003.M1.host").write_bytes(message("still being written"))
    (tmp_path / "Maildir" / "cur" / ".hidden").write_bytes(b"not mail")

    got = list(iter_raw_messages(tmp_path / "Maildir"))

    assert got == [("Maildir/new/1700000002.M1.host", message("unread")),
                   ("Maildir/cur/1700000001.M1.host:2,S", message("read"))]


def test_a_maildir_made_by_the_mailbox_module(tmp_path):
    box = mailbox.Maildir(tmp_path / "md", create=True)
    key = box.add(message("from mailbox").replace(b"\r\n", b"\n"))

    [(label, raw)] = iter_raw_messages(tmp_path / "md")

    assert label == f"md/new/{key}"
    assert raw == message("from mailbox").replace(b"\r\n", b"\n")


def test_eml_files_one_or_a_folder_of_them(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "b.eml").write_bytes(message("second"))
    (folder / "A.EML").write_bytes(message("first"))
    (folder / "notes.txt").write_text("not a message")

    assert list(iter_raw_messages(folder)) == [("saved/A.EML", message("first")), ("saved/b.eml", message("second"))]
    assert list(iter_raw_messages(folder / "b.eml")) == [("b.eml", message("second"))]
    # A message saved without the .eml suffix is recognised by its header.
    (tmp_path / "question").write_bytes(message("no suffix"))
    assert list(iter_raw_messages(tmp_path / "question")) == [("question", message("no suffix"))]


def test_anything_else_is_refused_naming_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n...")
    for path, why in [(tmp_path / "missing.mbox", "does not exist"),
                      (tmp_path / "empty", "holds no .eml files and is not a Maildir"),
                      (tmp_path / "report.pdf", "is not an email message")]:
        with pytest.raises(ValueError, match=f"{path} {why}"):
            iter_raw_messages(path)
