"""The `partnerdesk` console script: Django's management commands, with dashed names allowed.

    partnerdesk migrate | create-admin | demo | load-demo | import-customers FILE | record-payment ...
    partnerdesk worker | simulator | send-emails | calendar ... | collections run
    partnerdesk support fetch-mail | ingest PATH... | escalations ...
    partnerdesk operator import FILE... | payables warn | standing | fraud run | limits
"""

import os
import sys

ALIASES = {"worker": "db_worker"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        name = argv[1]
        argv[1] = ALIASES.get(name, name.replace("-", "_"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
