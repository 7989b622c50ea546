"""Taking customers' email from an IMAP mailbox: the transport only (no parsing, no models).

fetch() hands each message, raw, to a callback that stores it durably, and only then moves it out of the
inbox (or flags it \\Seen): a message is never marked as taken before it is stored. A crash between the two
leaves it in the inbox, so the next run hands it over again; the caller dedupes by Message-ID or sha256.
"""

import base64
import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


class MailboxError(Exception):
    """The mailbox could not be reached, trusted, logged into or read. `result` holds what was done before."""

    def __init__(self, message: str, *, result: "FetchResult | None" = None):
        super().__init__(message)
        self.result = result


@dataclass
class MailboxSettings:
    """Where the support mailbox is and what to do with a message once it is stored.

    Folder names use "/" between levels (translated to the server's separator). processed_folder None: leave
    taken messages in the folder, flagged \\Seen. failed_folder: where a message whose handling raised goes
    (unseen); None leaves it in place, to be tried again on the next run.
    """

    host: str
    port: int
    username: str
    password: str
    use_ssl: bool = True
    cafile: str | None = None
    folder: str = "INBOX"
    processed_folder: str | None = "PartnerDesk/Processed"
    failed_folder: str | None = None
    timeout: float = 30


@dataclass
class FetchResult:
    """What one fetch() did: messages handed over and stored, messages whose handling raised, why, and how
    many were left for the next run by `limit`."""

    taken: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    left: int = 0


def mailbox_settings_from_django() -> MailboxSettings | None:
    """The mailbox configured in settings.SUPPORT_MAILBOX, or None when no host is set."""
    from django.conf import settings

    conf = getattr(settings, "SUPPORT_MAILBOX", None) or {}
    if not conf.get("HOST"):
        return None
    use_ssl = bool(conf.get("SSL", True))
    return MailboxSettings(
        host=conf["HOST"],
        port=int(conf.get("PORT") or (993 if use_ssl else 143)),
        username=conf.get("USER", ""),
        password=conf.get("PASSWORD", ""),
        use_ssl=use_ssl,
        cafile=conf.get("CAFILE") or None,
        folder=conf.get("FOLDER") or "INBOX",
        # An empty PROCESSED_FOLDER means "flag \Seen and leave it in place".
        processed_folder=conf.get("PROCESSED_FOLDER", "PartnerDesk/Processed") or None,
        failed_folder=conf.get("FAILED_FOLDER") or None,
        timeout=float(conf.get("TIMEOUT") or 30),
    )


def fetch(settings: MailboxSettings, handle: Callable[[bytes], None], *, limit: int = 500,
          handle_batch: Callable[[list[bytes]], None] | None = None, batch_size: int = 50) -> FetchResult:
    """Hand each waiting message (raw bytes, as the server holds it) to `handle`, then mark it taken.

    With `handle_batch`, up to `batch_size` messages are handed over at once and marked taken only once it
    returns; if it raises, each message of that batch is handed to `handle` alone, as without it.

    Waiting means: in settings.folder, not flagged \\Deleted, and (when taken messages are only flagged
    \\Seen) not \\Seen. Each is read with BODY.PEEK[], so reading marks nothing. Only after `handle` returns
    is the message moved to processed_folder (UID MOVE, else UID COPY + \\Deleted + UID EXPUNGE; the folder
    is created if missing) or flagged \\Seen. If `handle` raises, the message stays unseen where it was (or
    goes to failed_folder), the error is logged and counted, and the next message is taken.

    At-least-once: if the process dies after `handle` stored a message and before it was marked (or two
    fetchers read the folder at once), the same message is handed over again. `handle` must therefore dedupe (by Message-ID or the sha256 of
    the raw bytes). Raises MailboxError when the server cannot be reached, trusted or logged into.
    """
    conn = _connect(settings)
    result = FetchResult()
    try:
        _take(conn, settings, handle, limit, result, handle_batch, max(1, batch_size))
    except MailboxError as exc:
        exc.result = exc.result or result
        raise
    except (imaplib.IMAP4.error, OSError) as exc:  # a dropped connection, a timeout, a refused command
        raise MailboxError(f"IMAP session with {settings.host}:{settings.port} failed: {_text(exc)}",
                           result=result) from exc
    finally:
        _logout(conn)
    logger.info("fetched mail from %s@%s/%s: %d taken, %d failed, %d left",
                settings.username, settings.host, settings.folder, result.taken, result.failed, result.left)
    return result


# --- the session ---------------------------------------------------------------------------------------------


def _connect(s: MailboxSettings) -> imaplib.IMAP4:
    where = f"{s.host}:{s.port}"
    try:
        if s.use_ssl:
            context = ssl.create_default_context(cafile=s.cafile)
            conn = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
        else:
            conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
    except ssl.SSLCertVerificationError as exc:
        trust = f"the CA file {s.cafile}" if s.cafile else "the system's certificate authorities"
        raise MailboxError(f"the certificate of IMAP server {where} is not trusted by {trust}: "
                           f"{exc.verify_message}") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"cannot connect to IMAP server {where}: {_text(exc)}") from exc
    try:
        if (s.username + s.password).isascii():
            conn.login(s.username, s.password)
        else:  # LOGIN is ASCII only; SASL PLAIN carries UTF-8
            credentials = f"\0{s.username}\0{s.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: credentials)
    except (imaplib.IMAP4.error, OSError) as exc:
        _logout(conn)
        raise MailboxError(f"IMAP login to {where} as {s.username} failed: {_text(exc)}") from exc
    return conn


def _take(conn, s: MailboxSettings, handle, limit: int, result: FetchResult, handle_batch=None,
          batch_size: int = 1) -> None:
    capabilities = _capabilities(conn)
    delimiter = server_delimiter(conn)
    typ, data = conn.select(quote(encode_folder_name(s.folder.replace("/", delimiter))))
    if typ != "OK":
        raise MailboxError(f"cannot open folder {s.folder!r} on {s.host}: {_text(data)}")
    criteria = "UNDELETED" if s.processed_folder else "UNSEEN UNDELETED"
    typ, data = conn.uid("SEARCH", criteria)
    if typ != "OK":
        raise MailboxError(f"cannot search folder {s.folder!r} on {s.host}: {_text(data)}")
    uids = sorted(int(u) for u in (data[0] or b"").split())
    result.left = max(0, len(uids) - limit)
    uids = uids[:limit]
    if not uids:
        return
    processed = _ensure_folder(conn, s.processed_folder, delimiter) if s.processed_folder else None
    failed = _ensure_folder(conn, s.failed_folder, delimiter) if s.failed_folder else None

    uids = [str(u) for u in uids]
    for start in range(0, len(uids), batch_size if handle_batch else 1):
        fetched = [(uid, _fetch_raw(conn, uid)) for uid in uids[start:start + (batch_size if handle_batch else 1)]]
        fetched = [(uid, raw) for uid, raw in fetched if raw is not None]  # None: expunged by another client
        if handle_batch is not None and fetched:
            try:
                handle_batch([raw for _uid, raw in fetched])
            except Exception:
                logger.exception("storing a batch of %d messages from %s/%s failed; each is tried alone",
                                 len(fetched), s.host, s.folder)
            else:
                for uid, _raw in fetched:
                    result.taken += 1
                    _mark(conn, uid, processed, capabilities, result)
                continue
        for uid, raw in fetched:
            _take_one(conn, s, uid, raw, handle, result, processed, failed, capabilities)


def _take_one(conn, s: MailboxSettings, uid: str, raw: bytes, handle, result: FetchResult, processed, failed,
              capabilities) -> None:
    try:
        handle(raw)
    except Exception as exc:
        result.failed += 1
        result.errors.append(f"UID {uid}: {type(exc).__name__}: {exc}")
        logger.exception("storing message UID %s from %s/%s failed; it stays in the mailbox",
                         uid, s.host, s.folder)
        if failed:
            _mark(conn, uid, failed, capabilities, result)
        return
    result.taken += 1
    _mark(conn, uid, processed, capabilities, result)


def _fetch_raw(conn, uid: str) -> bytes | None:
    typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH of UID {uid} refused: {_text(data)}")
    for part in data or []:
        if isinstance(part, tuple) and b"BODY[]" in part[0].upper():
            return part[1]
    return None


def _mark(conn, uid: str, target: str | None, capabilities: set[str], result: FetchResult) -> None:
    """Move the message to `target` (an encoded, quoted name), or flag it \\Seen when there is none."""
    if target is None:
        replies = [conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")]
    elif "MOVE" in capabilities:
        replies = [conn.uid("MOVE", uid, target)]
    else:
        replies = [conn.uid("COPY", uid, target)]
        if replies[0][0] == "OK":
            replies.append(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"))
            # Without UIDPLUS only a plain EXPUNGE exists, which would also remove what others flagged
            # \Deleted; the message then stays flagged \Deleted, which the search skips.
            if "UIDPLUS" in capabilities:
                replies.append(conn.uid("EXPUNGE", uid))
    for typ, data in replies:
        if typ != "OK":
            # Stored but not marked: it comes again next run and the caller's dedupe drops it.
            result.errors.append(f"UID {uid}: stored, but could not be marked as taken: {_text(data)}")
            logger.warning("message UID %s was stored but not marked as taken: %s", uid, _text(data))
            return


def _ensure_folder(conn, folder: str, delimiter: str) -> str:
    """The folder's encoded, quoted name, creating (and subscribing) it when the server does not have it."""
    name = quote(encode_folder_name(folder.replace("/", delimiter)))
    typ, data = conn.list('""', name)
    if typ == "OK" and any(line for line in data if line):
        return name
    typ, data = conn.create(name)
    if typ != "OK":
        raise MailboxError(f"cannot create folder {folder!r}: {_text(data)}")
    conn.subscribe(name)
    return name


def _capabilities(conn) -> set[str]:
    # Asked again after login: servers announce more (MOVE, UIDPLUS) to a logged-in client.
    typ, data = conn.capability()
    if typ != "OK" or not data or not data[0]:
        return {c.upper() for c in conn.capabilities}
    return {c.upper() for c in data[0].decode(errors="replace").split()}


def _logout(conn) -> None:
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def _text(value) -> str:
    """An IMAP reply or exception as readable text (imaplib hands over bytes and lists of bytes)."""
    if isinstance(value, BaseException):
        value = value.args[0] if len(value.args) == 1 else value
    if isinstance(value, list):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value if v is not None)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    text = str(value)
    if text.startswith(("b'", 'b"')):  # imaplib puts the server's bytes reply into the message as repr()
        text = text[2:-1]
    return text


# --- folder names (RFC 3501: hierarchy, quoting, modified UTF-7) ----------------------------------------------


def server_delimiter(conn) -> str:
    """The server's hierarchy separator (LIST "" ""), "/" if it does not say."""
    typ, data = conn.list('""', '""')
    if typ == "OK" and data and isinstance(data[0], bytes):
        delimiter, _name = parse_list_line(data[0])
        return delimiter or "/"
    return "/"


def parse_list_line(line: bytes) -> tuple[str, str]:
    """(delimiter, raw name) from a LIST answer such as b'(\\HasNoChildren) "." "Sent Items"'."""
    match = re.match(rb'\((?P<flags>[^)]*)\) (?:"(?P<delim>(?:\\.|[^"])*)"|NIL) (?P<name>.*)$', line)
    if not match:
        raise MailboxError(f"unexpected LIST answer: {line!r}")
    delimiter = _unquote(match["delim"].decode()) if match["delim"] is not None else ""
    name = match["name"].decode()
    return delimiter, _unquote(name[1:-1]) if name.startswith('"') else name


def quote(name: str) -> str:
    """An IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def encode_folder_name(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 ("已处理" -> "&XfJSIJZk-")."""
    out, pending = [], []

    def flush():
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_folder_name(name: str) -> str:
    """A folder name from IMAP's modified UTF-7."""

    def decode(match):
        chunk = match.group(1)
        if not chunk:
            return "&"
        chunk = chunk.replace(",", "/")
        return base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", decode, name)
