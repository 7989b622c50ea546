import os
import secrets

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from partnerdesk.customers.models import Customer


class Command(BaseCommand):
    help = ("Run the demo: migrate SQLite, load demo data on first run, start the operator simulator and the "
            "web server, and print the demo users.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--simulator-port", type=int, default=8765)
        parser.add_argument("--no-server", action="store_true", help="set up and print, but do not serve (for checks)")

    def handle(self, *args, port, simulator_port, no_server, **options):
        from partnerdesk.demo.data import ensure_demo_users, load_demo
        from partnerdesk.demo.runtime import demo_simulator

        if not settings.DEMO:
            raise CommandError("the demo runs only with PARTNERDESK_MODE=demo (make demo sets it)", returncode=2)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        password = os.environ.get("PARTNERDESK_DEMO_PASSWORD") or "demo-" + secrets.token_urlsafe(6)
        with demo_simulator(port=simulator_port, state_file=settings.VAR_DIR / "simulator.json") as handle:
            if not Customer.objects.exists():
                self.stdout.write("Loading demo data (first run)…")
                # A new database starts a new operator too: subscriptions left in the state file by an earlier
                # demo would show twice, suspended with no reason.
                handle.simulator.reset()
                load_demo(simulator=handle.simulator)
            with translation.override("en"):
                demo_users = ensure_demo_users(password)
            url = f"http://127.0.0.1:{port}/"
            self.stdout.write(self.style.SUCCESS(f"\nPartnerDesk demo: {url}"))
            self.stdout.write(f"Operator simulator (Partner Center API): {handle.url}")
            self.stdout.write(f"REST API docs: {url}api/v1/docs\n")
            self.stdout.write("Sign in with one of these demo users (password reset on each start):")
            for username, pw, role in demo_users:
                self.stdout.write(f"  {username:<10} {pw:<16} {role}")
            self.stdout.write("")
            if no_server:
                return
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, insecure_serving=True)
