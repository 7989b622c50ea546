"""Case attachments: a size limit and a type allow-list, stored through Django's storage API."""

import hashlib
import mimetypes

from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record
from partnerdesk.errors import InvalidInput

from .models import CaseAttachment, DeskSettings

# What customers send about bills: documents, spreadsheets, images, mail, archives of those.
DEFAULT_ALLOWED_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/msword",
    "message/rfc822", "application/zip",
)


def _desk_settings() -> DeskSettings:
    """The desk's settings row, or its defaults before one is saved (read here: support.services imports this
    module, so this one does not import it back)."""
    return DeskSettings.objects.filter(pk=1).first() or DeskSettings(pk=1)


def allowed_types() -> tuple[str, ...]:
    return tuple(_desk_settings().allowed_attachment_types or DEFAULT_ALLOWED_TYPES)


def content_type_of(filename: str, declared: str = "") -> str:
    """The type by the file's extension (what a browser will do with it), else the declared one."""
    guessed = mimetypes.guess_type(filename)[0]
    return (guessed or declared or "application/octet-stream").lower()


def store_attachment(*, message, filename: str, content: bytes, actor, content_type: str = ""):
    """Keep one file on a message of a case; refused (nothing stored) if too large or of a type not allowed."""
    filename = bounds.clean_text(filename, field="filename", max_length=200).strip().replace("/", "_") or "file"
    kind = content_type_of(filename, content_type)
    if kind not in allowed_types():
        raise InvalidInput(_("files of type %(kind)s are not accepted"), field="attachments", kind=kind)
    limit = _desk_settings().max_attachment_bytes
    if len(content) > limit:
        raise InvalidInput(_("a file may be at most %(size)s bytes"), field="attachments", size=limit)
    digest = hashlib.sha256(content).hexdigest()
    attachment = CaseAttachment(case_id=message.case_id, message=message, filename=filename, content_type=kind,
                                size=len(content), sha256=digest,
                                uploaded_by=actor if actor is not None and actor.pk else None)
    attachment.file.save(digest, ContentFile(content), save=False)
    attachment.save()
    record(actor=actor, action="case.attachment_added", obj=attachment, customer=message.case.customer,
           after={"filename": filename, "size": len(content), "content_type": kind, "message_id": message.pk})
    return attachment


MAX_FILES = 10  # files with one message


def read_uploads(files, *, required: bool = False) -> list[dict]:
    """Uploaded files (Django's UploadedFile) as the services take them: refused before any is read into
    memory when there are too many or one is over the desk's limit. The API, the agent's and the customer's
    pages all read uploads here."""
    files = list(files or [])
    if required and not files:
        raise InvalidInput(_("attach a file"), field="attachments")
    if len(files) > MAX_FILES:
        raise InvalidInput(_("at most %(count)s files at once"), field="attachments", count=MAX_FILES)
    limit = _desk_settings().max_attachment_bytes
    for upload in files:
        if upload.size is None or upload.size > limit:
            raise InvalidInput(_("a file may be at most %(size)s bytes"), field="attachments", size=limit)
    return [{"filename": upload.name or "file", "content_type": upload.content_type or "", "content": upload.read()}
            for upload in files]
