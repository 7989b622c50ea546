"""What a parsed message is (parsing.py makes it, classify.py reads it): kept apart so neither imports the
other."""

import re
from dataclasses import dataclass, field
from datetime import datetime

MAX_IDS = 200
_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")


class MalformedMail(Exception):
    """Nothing usable could be read from the bytes."""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str = ""
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    kind: str = "normal"
    bounced_message_ids: list[str] = field(default_factory=list)
    bounced_recipients: list[str] = field(default_factory=list)
    size: int = 0
    problems: list[str] = field(default_factory=list)


def message_ids(value: str, loose: bool = False) -> list[str]:
    """Message-IDs in a header value, without angle brackets; `loose` also takes a bare token."""
    found = _ANGLE_ID.findall(value or "")
    if not found:
        tokens = [token.strip("<>") for token in re.split(r"[\s,]+", value or "") if token.strip("<>")]
        found = tokens[:1] if loose else [token for token in tokens if "@" in token]
    return [item for item in dict.fromkeys(found) if len(item) <= 998][:MAX_IDS]
