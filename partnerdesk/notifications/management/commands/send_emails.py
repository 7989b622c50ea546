"""`partnerdesk send-emails [--loop]`: send the queued email now, or keep sending as it comes due."""

import time

from django.core.management.base import BaseCommand

from partnerdesk.notifications.services import default_worker_id, send_all_due


class Command(BaseCommand):
    help = "Send queued email that is due (retries included). With --loop, keep doing so until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running, checking every --interval seconds")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between checks with --loop")
        parser.add_argument("--limit", type=int, default=100, help="emails claimed per round")
        parser.add_argument("--worker-id", default="", help="name recorded on the emails this process claims")

    def handle(self, *args, loop=False, interval=10.0, limit=100, worker_id="", **options):
        worker_id = worker_id or default_worker_id()
        try:
            while True:
                counts = send_all_due(limit=limit, worker_id=worker_id)
                if counts["claimed"] or not loop:
                    self.stdout.write(
                        f"sent {counts['sent']}, requeued {counts['requeued']}, failed {counts['failed']}"
                        + (" (the mail server could not be reached)" if counts["server_error"] else "")
                    )
                if not loop:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("stopped")
