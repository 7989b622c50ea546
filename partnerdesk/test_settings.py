"""Settings for the test suite: the production settings in test mode."""

import os

os.environ.setdefault("PARTNERDESK_MODE", "test")
os.environ.setdefault("PARTNERDESK_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")

from partnerdesk.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 is tested in accounts
