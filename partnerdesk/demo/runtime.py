"""Running the demo: the operator simulator in-process, and the gateway pointed at it."""

import contextlib
import secrets

from django.conf import settings

from partnerdesk.gateway.simulator import start_simulator


@contextlib.contextmanager
def demo_simulator(*, port: int, state_file=None):
    """Start the simulator with a throw-away client secret and point settings.PARTNER_CENTER at it."""
    secret = secrets.token_urlsafe(24)
    handle = start_simulator(port=port, client_id="partnerdesk-demo", client_secret=secret,
                             state_file=str(state_file) if state_file else None)
    saved = settings.PARTNER_CENTER
    settings.PARTNER_CENTER = {
        **saved, "BASE_URL": handle.url, "TOKEN_URL": handle.token_url, "PARTNER_TENANT_ID": "demo-partner.partner.onmschina.cn",
        "CLIENT_ID": "partnerdesk-demo", "CLIENT_SECRET": secret, "TIMEOUT_SECONDS": 5.0, "MAX_ATTEMPTS": 3,
    }
    try:
        yield handle
    finally:
        settings.PARTNER_CENTER = saved
        handle.stop()
