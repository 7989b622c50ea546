"""The desk listens to the email path: a bounced reply shows on its case, a bounced resolution reopens it."""

from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from partnerdesk.notifications.background import email_bounced


@receiver(email_bounced, dispatch_uid="support.resolution_bounced")
def _on_bounce(sender, email, **kwargs):
    from .services import resolution_bounced

    resolution_bounced(email)


# The full-text index follows every saved case and message (bulk writes call fulltext.index_rows), but only
# what it reads: most saves name their fields and change a status or a time, which leaves the index as it is.
_CASE_INDEXED = {"subject", "requester_email", "requester_name", "customer"}
_MESSAGE_INDEXED = {"body", "author_email", "author_name", "kind", "case"}


def _indexed_fields_changed(created: bool, update_fields, indexed: set) -> bool:
    return created or update_fields is None or bool(set(update_fields) & indexed)


@receiver(post_save, sender="support.Case", dispatch_uid="support.index_case")
def _index_case(sender, instance, created=False, update_fields=None, **kwargs):
    from .fulltext import index_case

    if _indexed_fields_changed(created, update_fields, _CASE_INDEXED):
        index_case(instance, fresh=created)


@receiver(post_save, sender="support.CaseMessage", dispatch_uid="support.index_message")
def _index_message(sender, instance, created=False, update_fields=None, **kwargs):
    from .fulltext import index_message

    if _indexed_fields_changed(created, update_fields, _MESSAGE_INDEXED):
        index_message(instance, fresh=created)


@receiver(post_save, sender="support.DeskSettings", dispatch_uid="support.desk_settings_saved")
@receiver(post_delete, sender="support.DeskSettings", dispatch_uid="support.desk_settings_deleted")
def _desk_settings_changed(sender, **kwargs):
    from .services import forget_desk_settings

    forget_desk_settings()


@receiver(post_migrate, dispatch_uid="support.empty_index_without_cases")
def _empty_index_without_cases(sender, app_config=None, using="default", **kwargs):
    """The index table is not a model, so a flush (tests, a restore into an empty schema) leaves its rows:
    with no case left, its rows name nothing and go too."""
    if app_config is None or app_config.label != "support":
        return
    from django.db import connections

    from .fulltext import TABLE
    from .models import Case

    connection = connections[using]
    if TABLE in connection.introspection.table_names() and not Case.objects.using(using).exists():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")
