"""Background work of the email queue (django-tasks)."""

from django_tasks import task

from . import services


@task()
def send_pending_emails() -> dict:
    """Send every email that is due. Enqueued after each commit that queues email; safe to run concurrently."""
    return services.send_all_due()
