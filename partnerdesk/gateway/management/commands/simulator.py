from django.core.management.base import BaseCommand

from partnerdesk.gateway.simulator import main


class Command(BaseCommand):
    help = "Run the local Partner Center (operator) simulator in the foreground. Listen on localhost only."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--state", default=None, help="JSON file to load state from and save it to")

    def handle(self, *args, host, port, state, **options):
        argv = ["--host", host, "--port", str(port)] + (["--state", state] if state else [])
        main(argv)
