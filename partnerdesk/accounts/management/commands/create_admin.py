import getpass
import os

from django.core.management.base import BaseCommand, CommandError, no_translations

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_user
from partnerdesk.errors import DomainError


class Command(BaseCommand):
    help = "Create the first PartnerDesk administrator (password from --password-env or a prompt)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-env", default="PARTNERDESK_ADMIN_PASSWORD",
                            help="environment variable holding the password (default PARTNERDESK_ADMIN_PASSWORD)")

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, username, email, password_env, **options):
        password = os.environ.get(password_env)
        if not password:
            if not os.isatty(0):
                raise CommandError(f"set {password_env} or run interactively", returncode=2)
            password = getpass.getpass("Password: ")
        try:
            user = create_user(actor=None, username=username, password=password, role=Role.ADMIN, email=email)
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}", returncode=2)
        self.stdout.write(self.style.SUCCESS(f"Administrator {user.username} created."))
