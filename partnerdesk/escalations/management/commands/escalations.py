"""`partnerdesk escalations poll` (API service requests in step with the operator), `partnerdesk escalations
remind` (the agents' reminders when the operator is late) and `partnerdesk escalations stuck` (a case for each
suspension or reactivation the operator keeps refusing), now or, with --schedule, by the worker."""

from django.core.management.base import BaseCommand, CommandError, no_translations


def _counts(tally: dict) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sorted(tally.items())) or "nothing"


class Command(BaseCommand):
    help = ("Service requests to the operator: poll the API channel's requests (send, read notes and status), or "
            "send the reminders due. Each effect happens once, however often run and however many run at once.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        for name, text in (("poll", "send API requests not at the operator yet, send our notes, record the "
                                    "operator's new notes and status changes"),
                           ("remind", "remind agents of requests the operator has not answered or closed in time"),
                           ("stuck", "open a case for the collections team for each suspension or reactivation the "
                                     "operator keeps refusing, and follow the open ones")):
            command = sub.add_parser(name, help=text)
            command.add_argument("--schedule", type=int, default=None, metavar="SECONDS",
                                 help="do not run now: have the worker run it every SECONDS seconds")

    @no_translations  # the command line speaks English
    def handle(self, *args, what, schedule=None, **options):
        from partnerdesk.escalations import tasks
        from partnerdesk.escalations.stuck import stuck_requests_pass

        run, scheduler = {"poll": (tasks.poll_service_requests, tasks.schedule_poll),
                          "remind": (tasks.remind_overdue, tasks.schedule_reminders),
                          "stuck": (stuck_requests_pass, tasks.schedule_stuck_requests)}[what]
        if schedule is not None:
            if schedule < 10:
                raise CommandError("--schedule: at least 10 seconds", returncode=2)
            self.stdout.write(f"the worker runs `escalations {what}` every {schedule} seconds" if scheduler(schedule)
                              else "nothing enqueued: a run already waits in the queue, or the task backend cannot "
                                   "run tasks later")
            return
        self.stdout.write(self.style.SUCCESS(_counts(run())))
