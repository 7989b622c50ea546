"""What one batch of email in (filing.ingest_many: one transaction per batch) has read once for all its messages,
and what it has written since, so each message is filed without asking the database again.

Filing a message asks the same few questions of the database (which case has this Message-ID or number, which
case has this sender and subject, who is this sender, how many cases did it open this hour, the case's clocks)
and locks the case it answers. Asked for each message, that is most of the round trips of email in. A batch asks
each question once for all its messages (read_ahead), and the answers are kept up to date with what the batch
itself writes: every case and message saved while the batch is active is seen here (post_save), the cases it
locked are kept as they are (services._lock hands out the same object, so a second message on the case sees the
first one's changes), and anything another part of the code may have changed behind these objects (a signal's
receivers) is forgotten and read again. A question the batch did not ask ahead of time goes to the database as
before. Active only inside the batch's transaction, on its thread.
"""

import datetime as dt
import threading
from contextlib import contextmanager

from django.db.models.signals import post_save
from django.dispatch import receiver

_local = threading.local()


class Batch:
    def __init__(self):
        self.cases: dict = {}  # pk -> Case locked in this transaction, as the batch left it
        self.absent: set = set()  # case pks read ahead that do not exist
        self.clocks: dict = {}  # case pk -> its SlaClock rows, as the batch left them
        self.received: dict = {}  # exact Message-ID -> [case pk] of inbound messages (read ahead, then written)
        self.received_ids: set = set()  # the Message-IDs read ahead (others: ask the database)
        self.subject_rows: dict = {}  # case pk -> (requester_email, subject_key, updated_at) read ahead or saved
        self.subject_pairs: set = set()  # (requester_email, subject_key) read ahead
        self.subject_since: dt.datetime | None = None
        self.opened: dict = {}  # case pk -> (requester_email, channel, created_at) read ahead or saved
        self.opened_addresses: set = set()
        self.opened_since: dt.datetime | None = None
        self.senders: dict = {}  # lower-case address -> (contacts, users) read ahead
        self.invoices: list = []  # the invoices the batch's messages name (any customer's)
        self.invoice_numbers: set = set()
        self.support_information: dict = {}  # language -> the published information (acknowledgements)

    # --- the cases locked ---------------------------------------------------------------------------------

    def forget_case(self, pk) -> None:
        """Something outside the batch's own code may have changed the case: read it (and its clocks) again."""
        self.cases.pop(pk, None)
        self.clocks.pop(pk, None)


def current() -> Batch | None:
    return getattr(_local, "batch", None)


@contextmanager
def active():
    """A batch for the block (inside its transaction); nested: the outer batch goes on."""
    if current() is not None:
        yield current()
        return
    _local.batch = Batch()
    try:
        yield _local.batch
    finally:
        _local.batch = None


# --- what the batch writes, seen as it is written ---------------------------------------------------------


@receiver(post_save, sender="support.Case", dispatch_uid="support.mail_batch_case")
def _case_saved(sender, instance, created=False, **kwargs):
    batch = current()
    if batch is None:
        return
    batch.absent.discard(instance.pk)
    batch.subject_rows[instance.pk] = (instance.requester_email, instance.subject_key, instance.updated_at)
    batch.opened[instance.pk] = (instance.requester_email, instance.channel, instance.created_at)


@receiver(post_save, sender="support.CaseMessage", dispatch_uid="support.mail_batch_message")
def _message_saved(sender, instance, created=False, **kwargs):
    batch = current()
    if batch is not None and created and instance.message_id and instance.direction == "inbound":
        batch.received.setdefault(instance.message_id, []).append(instance.case_id)
