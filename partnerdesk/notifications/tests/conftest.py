"""A real SMTP server in the test process, for any test that claims "the customer received".

Other apps use it by importing the fixture into their conftest:

    from partnerdesk.notifications.tests.conftest import smtp_server  # noqa: F401
"""

import email
import email.message
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller


class ReceivedMessage(email.message.EmailMessage):
    """A received message (an email.message.Message) with shortcuts for what tests check."""

    @property
    def subject(self) -> str:
        return str(self["Subject"] or "")

    @property
    def language(self) -> str:
        return str(self["Content-Language"] or "")

    @property
    def text(self) -> str:
        """The decoded text/plain body."""
        return text_body(self)


_POLICY = email.policy.default.clone(message_factory=ReceivedMessage)


def text_body(message) -> str:
    """The decoded text/plain body of a received message, with "\n" line ends."""
    part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else None
    part = part or message
    payload = part.get_payload(decode=True) or b""
    return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=_POLICY)
        for name, value in list(message.items()):
            if str(value) != str(value).strip():
                # Django folds a long encoded Subject onto the next line; readers show it without the fold.
                message.replace_header(name, str(value).strip())
        with self.server.arrived:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.server.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1. `messages` holds what arrived, parsed: ReceivedMessage objects
    (email.message.EmailMessage) with .subject, .text and .language shortcuts.

    stop() and start() simulate an outage: the port stays the same, so Django's settings stay valid.
    refuse(address) makes the server answer 550 for that recipient.
    """

    host = "127.0.0.1"

    def __init__(self):
        self.port = _free_port()
        self.messages: list = []
        self.envelopes: list = []
        self.refused: set[str] = set()
        self.arrived = threading.Condition()
        self._controller = None

    def start(self):
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str):
        self.refused.add(address.lower())

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        """The messages, once at least `count` have arrived (fails after `timeout` seconds of real time)."""
        with self.arrived:
            # Short waits counted, not a deadline: tests often freeze the clock with time-machine.
            for _ in range(int(timeout / 0.05)):
                if len(self.messages) >= count:
                    break
                self.arrived.wait(0.05)
            assert len(self.messages) >= count, f"expected {count} messages, {len(self.messages)} arrived"
            return list(self.messages)

    def to(self, address: str) -> list:
        """The messages delivered to an address."""
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]

    @staticmethod
    def text(message) -> str:
        """The decoded text/plain body of a received message."""
        return text_body(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A running SMTP server, with Django's SMTP backend pointed at it."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()
