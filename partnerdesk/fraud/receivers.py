"""What fraud monitoring listens to: a reconciliation file imported (signals are computed after each import)."""

import logging

from django.db import transaction
from django.dispatch import receiver

from partnerdesk.rebilling.signals import file_imported

log = logging.getLogger(__name__)


@receiver(file_imported, dispatch_uid="fraud.detect_after_import")
def detect_after_import(sender, file, actor=None, **kwargs):
    """Enqueue detection for the file's customers once the import has committed (never fails the import)."""
    from .tasks import detect_after_import as task

    def enqueue():
        try:
            task.enqueue(file.pk)
        except Exception:  # (a queue that is down must not undo or fail an import already committed)
            log.exception("fraud: could not enqueue detection after importing file %s", file.pk)

    transaction.on_commit(enqueue)
