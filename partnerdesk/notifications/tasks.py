"""Background work of the email queue (django-tasks)."""

from django.dispatch import receiver
from django_tasks import task

from . import services
from .background import emails_due


@task()
def send_pending_emails() -> dict:
    """Send every email that is due. Enqueued after each commit that queues email; safe to run concurrently."""
    return services.send_all_due()


@receiver(emails_due)
def enqueue_sending(sender, **kwargs):
    """Have the worker send what is due."""
    send_pending_emails.enqueue()
