"""Raw messages from files, for the CLI: one .eml file, a folder of .eml files, an mbox or a Maildir."""

import mailbox
import re
from collections.abc import Iterator
from pathlib import Path

# The first line of a message file: a header field ("Received: ...") or an mbox "From " envelope line.
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")


def iter_raw_messages(path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) for each message at `path`; the label says where it came from ("box.mbox#12").

    A .eml file is one message, as it is; an mbox gives its messages without the "From " envelope line, as
    the mailbox module reads them; a Maildir gives new/ then cur/; a folder gives its .eml files by name.
    Raises ValueError, naming the path, for anything else.
    """
    path = Path(path)  # checked here, not at the first next(): a wrong path fails at the call
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return _maildir(path)
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".eml")
        if not files:
            raise ValueError(f"{path} holds no .eml files and is not a Maildir (no cur/ or new/ folder)")
        return ((f"{path.name}/{file.name}", file.read_bytes()) for file in files)
    if path.is_file():
        if _file_kind(path) == "mbox":
            return _mbox(path)
        return iter([(path.name, path.read_bytes())])
    if path.exists():
        raise ValueError(f"{path} is neither a file nor a folder")
    raise ValueError(f"{path} does not exist")


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".eml":
        return "eml"
    with path.open("rb") as f:
        start = f.read(1024)
    if suffix in (".mbox", ".mbx") or start.startswith(b"From "):
        return "mbox"
    if _HEADER_LINE.match(start):
        return "eml"
    raise ValueError(f"{path} is not an email message (.eml), an mbox or a Maildir")


def _mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield f"{path.name}#{number}", box.get_bytes(key)
    finally:
        box.close()


def _maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    # Files read directly, not through mailbox.Maildir: the label names the file an operator can find.
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                yield f"{path.name}/{sub}/{file.name}", file.read_bytes()

