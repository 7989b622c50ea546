"""Settings for the test suite: the production settings in test mode."""

import os

os.environ.setdefault("PARTNERDESK_MODE", "test")
os.environ.setdefault("PARTNERDESK_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")

from partnerdesk.settings import *  # noqa: E402,F403

# SQLite tests use a file (not :memory:), so threads and subprocesses of a test see the same database.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"]["NAME"] = os.environ.get(  # noqa: F405
        "PARTNERDESK_TEST_SQLITE", os.path.join(tempfile.gettempdir(), f"partnerdesk-test-{os.getpid()}.sqlite3"))

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 is tested in accounts

# Each test process keeps its uploads apart from the demo's and from other processes'.
import tempfile  # noqa: E402

MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"partnerdesk-media-{os.getpid()}")
