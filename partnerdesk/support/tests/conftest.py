"""Fixtures for the support app's tests: a real IMAP server (Dovecot) for email in."""

import pytest

from partnerdesk.support.tests.dovecot import DovecotServer


@pytest.fixture(scope="session")
def dovecot_server():
    """One Dovecot for the session (per xdist worker), stopped by its process id at the end."""
    server = DovecotServer().start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server):
    """A fresh, empty mailbox on the running Dovecot: host, port (IMAPS), plain_port, user, password, cafile,
    append(raw, folder), list_uids(folder), fetch_flags(uid, folder), folders(), settings(**overrides)."""
    return dovecot_server.add_user()
