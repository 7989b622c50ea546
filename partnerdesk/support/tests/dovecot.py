"""A real IMAP server for the email-in tests: Debian's Dovecot, run from a throwaway configuration.

The server (DovecotServer) starts once per test session (per xdist worker) in a temporary folder, never
touching /etc/dovecot; it listens on 127.0.0.1 on two free ports, IMAPS with a self-signed certificate made
at test time, and plain IMAP. Each test gets its own user, so its mailbox starts empty (DovecotMailbox).
Folder names in the helpers use "/" as the hierarchy separator, as MailboxSettings does, whatever the server's.
"""

import datetime as dt
import imaplib
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from partnerdesk.support.mail.imap import (
    MailboxSettings,
    decode_folder_name,
    encode_folder_name,
    parse_list_line,
    quote,
    server_delimiter,
)

HOST = "127.0.0.1"

_CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
listen = {host}
protocols = imap
ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = no
auth_failure_delay = 0
log_path = {dir}/dovecot.log
mail_location = maildir:{dir}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 100
{extra}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={dir}/mail/%u
}}
service anvil {{
  # No auth penalty (failed logins from one IP wait up to 15 s more each time): tests fail logins on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {port}
    ssl = yes
  }}
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def make_self_signed_cert(cert_path: Path, key_path: Path, host: str = HOST) -> None:
    """A throwaway certificate for `host` (IP and DNS name): with `cryptography` if installed, else openssl."""
    try:
        _cert_with_cryptography(cert_path, key_path, host)
    except ImportError:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host},DNS:localhost",
             "-keyout", str(key_path), "-out", str(cert_path)],
            check=True, capture_output=True,
        )


def _cert_with_cryptography(cert_path: Path, key_path: Path, host: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # The suite's clock is pinned with time-machine; a wide window keeps the certificate valid under it.
        .not_valid_before(now - dt.timedelta(days=3650)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class DovecotServer:
    """A running Dovecot (the master process is `process`); add_user() gives each test its own mailbox.

    Every user name logs in with the server's `password` (a static passdb: a passwd-file is re-read at most
    once a second, too slowly for a user per test).

    `capabilities`, when given, replaces the IMAP CAPABILITY list the server announces after login (to test
    a client against a server without MOVE, say).
    """

    host = HOST

    def __init__(self, *, capabilities: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="pd-dovecot-"))  # short: Dovecot's sockets live under it
        self.port = free_port()
        self.plain_port = free_port()
        self.cafile = str(self.dir / "cert.pem")
        self.capabilities = capabilities
        self.password = uuid.uuid4().hex  # every user's: any name logs in with it (a static passdb)
        self.process: subprocess.Popen | None = None

    def start(self) -> "DovecotServer":
        if shutil.which("dovecot") is None:
            raise RuntimeError("dovecot is not installed: run scripts/system-test-deps.sh (Debian's dovecot-imapd)")
        os.chmod(self.dir, 0o755)  # the login and mail processes (dovenull, dovecot) read below it
        make_self_signed_cert(self.dir / "cert.pem", self.dir / "key.pem")
        (self.dir / "mail").mkdir()
        shutil.chown(self.dir / "mail", "dovecot", "dovecot")
        extra = f"imap_capability = {self.capabilities}" if self.capabilities else ""
        (self.dir / "dovecot.conf").write_text(_CONFIG.format(
            dir=self.dir, host=self.host, port=self.port, plain_port=self.plain_port, password=self.password,
            extra=extra))
        with open(self.dir / "output.log", "wb") as output:  # what it says before its log is open
            self.process = subprocess.Popen(["dovecot", "-c", str(self.dir / "dovecot.conf"), "-F"],
                                            stdout=output, stderr=subprocess.STDOUT)
        self._wait_until_listening()
        return self

    def _wait_until_listening(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout  # monotonic: time-machine does not move it
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                problem = f"dovecot exited with {self.process.returncode}:\n{self.log()}"
                self.stop()
                raise RuntimeError(problem)
            if all(_accepts(self.host, port) for port in (self.port, self.plain_port)):
                return
            time.sleep(0.05)
        problem = f"dovecot did not listen within {timeout} s:\n{self.log()}"
        self.stop()
        raise RuntimeError(problem)

    def stop(self) -> None:
        """Stop the master process (it takes its children with it) and remove the folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        """What Dovecot printed and logged (for a failing test's message)."""
        return "".join((self.dir / name).read_text(errors="replace")
                       for name in ("output.log", "dovecot.log") if (self.dir / name).exists())

    def add_user(self) -> "DovecotMailbox":
        """A mailbox of its own (a new user name: Dovecot makes its Maildir at the first login), empty."""
        return DovecotMailbox(self, f"support-{uuid.uuid4().hex[:12]}@example.cn", self.password)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class DovecotMailbox:
    """One user's mailbox on the test server, with helpers that speak plain IMAP to it (as a mail client would).

    host, port (IMAPS), plain_port, user, password, cafile (the certificate to trust).
    """

    def __init__(self, server: DovecotServer, user: str, password: str):
        self.server = server
        self.host = server.host
        self.port = server.port
        self.plain_port = server.plain_port
        self.cafile = server.cafile
        self.user = user
        self.password = password

    def settings(self, **overrides) -> MailboxSettings:
        """MailboxSettings for this mailbox over IMAPS, trusting the test certificate."""
        fields = dict(host=self.host, port=self.port, username=self.user, password=self.password,
                      use_ssl=True, cafile=self.cafile, timeout=10)
        return MailboxSettings(**{**fields, **overrides})

    def django_setting(self, **overrides) -> dict:
        """A SUPPORT_MAILBOX value for Django's settings pointing at this mailbox (over IMAPS)."""
        value = {"HOST": self.host, "PORT": self.port, "USER": self.user, "PASSWORD": self.password,
                 "SSL": True, "CAFILE": self.cafile, "FOLDER": "INBOX", "PROCESSED_FOLDER": "PartnerDesk/Processed"}
        return {**value, **overrides}

    def _connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.plain_port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def _name(self, conn, folder: str) -> str:
        return quote(encode_folder_name(folder.replace("/", server_delimiter(conn))))

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver a message as it is (imaplib turns bare LF into CRLF) into a folder, made if missing; its UID."""
        conn = self._connect()
        try:
            name = self._name(conn, folder)
            if folder.upper() != "INBOX":
                conn.create(name)  # refused harmlessly when it exists
            typ, data = conn.append(name, "", None, raw)
            assert typ == "OK", data
            # Dovecot answers with UIDPLUS: [APPENDUID <validity> <uid>]
            return int(data[0].split(b"]")[0].split()[-1])
        finally:
            conn.logout()

    def list_uids(self, folder: str = "INBOX") -> list[int]:
        """The UIDs of the messages in a folder not flagged \\Deleted, oldest first ([] if there is no folder)."""
        conn = self._connect()
        try:
            typ, _ = conn.select(self._name(conn, folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("SEARCH", None, "UNDELETED")
            return sorted(int(u) for u in data[0].split())
        finally:
            conn.logout()

    def fetch_flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        """The flags of a message, e.g. {"\\Seen"}."""
        conn = self._connect()
        try:
            typ, data = conn.select(self._name(conn, folder), readonly=True)
            assert typ == "OK", data
            typ, data = conn.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK" and data and data[0], f"no message with UID {uid} in {folder}"
            return {flag.decode() for flag in imaplib.ParseFlags(data[0])}
        finally:
            conn.logout()

    def fetch_raw(self, uid: int, folder: str = "INBOX") -> bytes:
        """A message's bytes, without marking it read."""
        conn = self._connect()
        try:
            conn.select(self._name(conn, folder), readonly=True)
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            return next(part[1] for part in data if isinstance(part, tuple))
        finally:
            conn.logout()

    def folders(self) -> list[str]:
        """The folders of the mailbox, with "/" as the separator, sorted."""
        conn = self._connect()
        try:
            _, data = conn.list()
            names = []
            for line in data:
                delimiter, name = parse_list_line(line)
                names.append(decode_folder_name(name).replace(delimiter, "/") if delimiter else name)
            return sorted(names)
        finally:
            conn.logout()

