from django.core.management.base import BaseCommand, CommandError

from partnerdesk.customers.models import Customer


class Command(BaseCommand):
    help = "Load the demo data into an empty database (customers, subscriptions at the simulator, invoices, payments)."

    def add_arguments(self, parser):
        parser.add_argument("--simulator-state", default=None,
                            help="the simulator's state file to seed (default var/simulator.json, which `demo` uses)")

    def handle(self, *args, simulator_state, **options):
        from partnerdesk.demo.data import load_demo
        from partnerdesk.demo.runtime import demo_simulator

        if Customer.objects.exists():
            raise CommandError("the database already holds customers; demo data goes only into an empty one", returncode=2)
        from django.conf import settings

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        with demo_simulator(port=0, state_file=simulator_state or settings.VAR_DIR / "simulator.json") as handle:
            result = load_demo(simulator=handle.simulator)
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {len(result['customers'])} customers."))
