"""Turning the bytes real mail carries into text: charset labels that lie, are unknown or missing.

The rule (issue 13, email in): try UTF-8, then the label, then GB18030 and Big5-HKSCS; when the label
fails or turns CJK bytes into Latin mojibake, keep the candidate that decodes cleanly and reads like
Chinese. GB2312 and GBK labels are decoded as GB18030 (their superset), Big5 as Big5-HKSCS.
"""

import binascii
import codecs
import re

# Labels seen in the wild mapped to the codec that decodes what they actually carry.
_ALIASES = {
    "gb2312": "gb18030", "gb_2312": "gb18030", "gb_2312-80": "gb18030", "gb2312-80": "gb18030",
    "euc-cn": "gb18030", "euccn": "gb18030", "x-euc-cn": "gb18030", "csgb2312": "gb18030",
    "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "ms936": "gb18030", "windows-936": "gb18030",
    "chinese": "gb18030", "iso-ir-58": "gb18030", "gb18030": "gb18030", "gb-18030": "gb18030",
    "big5": "big5hkscs", "big-5": "big5hkscs", "cn-big5": "big5hkscs", "x-x-big5": "big5hkscs",
    "csbig5": "big5hkscs", "big5-hkscs": "big5hkscs", "big5hkscs": "big5hkscs", "x-big5": "big5hkscs",
    "cp950": "cp950", "ms950": "cp950",
    "utf8": "utf-8", "utf-8": "utf-8", "x-utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "utf7": "utf-7", "utf-7": "utf-7", "x-utf-7": "utf-7", "unicode-1-1-utf-7": "utf-7",
    "iso-2022-jp": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext", "iso-2022-jp-2": "iso2022_jp_2",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "ascii": "ascii", "us-ascii": "ascii", "ansi_x3.4-1968": "ascii", "646": "ascii",
    # Western labels: windows-1252 is what senders mean by them (it only adds printable characters).
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "iso_8859-1": "cp1252",
    "l1": "cp1252", "windows-1252": "cp1252", "cp1252": "cp1252",
}
# Labels that mean "we do not know": treated like no label at all.
_NO_LABEL = {"", "unknown", "unknown-8bit", "x-unknown", "default", "charset", "none", "8bit", "binary",
             "x-user-defined", "us-ascii?", "_iso-2022-jp$esc"}
_MULTIBYTE = {"utf-8", "utf-7", "gb18030", "big5hkscs", "cp950", "cp949", "cp932", "euc_jp", "euc_kr",
              "iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_kr", "hz", "johab", "utf-16",
              "utf-32", "gbk", "gb2312", "big5", "shift_jis", "euc_jis_2004", "shift_jis_2004"}
_SEVEN_BIT = {"utf-7", "iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_kr", "hz"}
_CJK_CANDIDATES = ("gb18030", "big5hkscs")
_SAMPLE = 3000


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when the label is missing or unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").strip().lower()
    if name in _NO_LABEL:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        found = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None
    # Python knows text codecs and a few that are not (rot13, base64, zlib): refuse the latter.
    if found in {"rot-13", "base64", "hex", "zlib", "bz2", "quopri", "uu"} or "codec" in found:
        return None
    return _ALIASES.get(found, found)


def decode_bytes(data: bytes, label: str | None = None) -> tuple[str, str | None]:
    """Decode bytes to text by the issue's rule; return the text and a problem sentence (or None)."""
    if not data:
        return "", None
    codec = codec_for(label)
    shown = (label or "").strip()[:40]
    unknown = f"unknown charset {shown!r}" if shown and codec is None and shown.lower() not in _NO_LABEL else None
    if data.isascii():
        return _decode_ascii(data, codec, shown, unknown)
    try:
        text = data.decode("utf-8")
        if codec not in (None, "utf-8", "ascii") and codec in _MULTIBYTE:
            return text.lstrip("\ufeff"), f"labelled {shown!r} but decoded as UTF-8"
        return text.lstrip("\ufeff"), unknown
    except UnicodeDecodeError:
        pass
    if codec and codec != "utf-8":
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            text = None
        if text is not None:
            if codec in _MULTIBYTE and codec not in _CJK_CANDIDATES:
                return text, unknown
            best = _best_cjk(data, minimum=0.7 if codec not in _CJK_CANDIDATES else 0.0)
            if best is None or best[0] == codec:
                return text, unknown
            if codec in _CJK_CANDIDATES and best[2] < _score(text, codec)[0] + 0.15:
                return text, unknown
            return best[1], f"labelled {shown!r} but decoded as {best[0]}"
    best = _best_cjk(data, minimum=0.4)
    if best is not None:
        what = f"labelled {shown!r}" if shown else "no charset"
        return best[1], unknown or f"{what} but decoded as {best[0]}"
    if codec and codec not in ("utf-8", "ascii", "cp1252"):
        return data.decode(codec, "replace"), unknown or f"{shown!r} text had undecodable bytes"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text, unknown or (f"labelled {shown!r} but decoded as windows-1252" if shown else None)


def _decode_ascii(data: bytes, codec: str | None, shown: str, unknown: str | None) -> tuple[str, str | None]:
    """7-bit data: plain ASCII unless it is UTF-7 or ISO-2022 (escape sequences)."""
    if codec in _SEVEN_BIT:
        try:
            return data.decode(codec), unknown
        except UnicodeDecodeError:
            return data.decode(codec, "replace"), f"{shown!r} text had undecodable bytes"
    if b"\x1b$" in data or b"\x1b(" in data:
        for jis in ("iso2022_jp_ext", "iso2022_jp_2"):
            try:
                return data.decode(jis), unknown
            except UnicodeDecodeError:
                continue
    return data.decode("ascii"), unknown


def _best_cjk(data: bytes, minimum: float) -> tuple[str, str, float] | None:
    """The CJK codec that decodes the bytes cleanly and scores best as Chinese, if it reaches `minimum`."""
    best = None
    for codec in _CJK_CANDIDATES:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        score, ideographs = _score(text, codec)
        if ideographs == 0 or score < minimum:
            continue
        if best is None or score > best[2]:
            best = (codec, text, score)
    return best


def _score(text: str, codec: str) -> tuple[float, int]:
    """How much the non-ASCII characters read like common Chinese in that codec: a 0-1 score and a count.

    GBK read as Big5 (and the reverse) also decodes, but lands on rare characters, the private use area or
    the wrong script; the common-character ranges of GB2312 and Big5 tell them apart.
    """
    total = 0.0
    count = 0
    ideographs = 0
    for ch in text[:_SAMPLE]:
        if ch < "\x80":
            continue
        count += 1
        weight = _weight(ch, codec)
        if weight >= 0.6:
            ideographs += 1
        total += weight
    return (total / count if count else 0.0), ideographs


def _weight(ch: str, codec: str) -> float:
    """Weight of one character: 1 for a common ideograph, less for rare ones, 0 for junk."""
    if ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff" or "\x80" <= ch <= "\x9f":
        return 0.0
    if codec == "gb18030":
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            return 0.2
        if 0xB0 <= lead <= 0xD7:
            return 1.0
        if 0xD8 <= lead <= 0xF7:
            return 0.6
        return 0.7 if lead in (0xA1, 0xA3) else 0.3
    if codec in ("big5hkscs", "cp950"):
        try:
            lead = ch.encode("big5")[0]
        except UnicodeEncodeError:
            return 0.2
        if 0xA4 <= lead <= 0xC6:
            return 1.0
        if 0xC9 <= lead <= 0xF9:
            return 0.6
        return 0.7 if lead in (0xA1, 0xA2) else 0.3
    return 0.5


# An RFC 2047 encoded-word, leniently: spaces inside (broken folding) and no surrounding space are accepted.
_ENCODED_WORD = re.compile(rb"=\?([^?\s]{1,60})\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN_WORDS = re.compile(rb"[ \t\r\n]*")


def decode_header(value: str | bytes, problems: list[str] | None = None) -> str:
    """Decode a raw header value: unfold, decode encoded-words (any charset, broken ones too) and 8-bit."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    raw = re.sub(rb"\r?\n(?=[ \t])", b"", raw).replace(b"\r", b"").replace(b"\n", b"")
    pieces: list[str] = []
    run_charset: bytes | None = None
    run: list[bytes] = []
    position = 0

    def flush() -> None:
        nonlocal run_charset
        if run:
            label = run_charset.decode("ascii", "replace").split("*", 1)[0]
            text, problem = decode_bytes(b"".join(run), label)
            pieces.append(text)
            if problem and problems is not None:
                problems.append(f"header: {problem}")
        run.clear()
        run_charset = None

    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[position:match.start()]
        if gap and not (run and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            pieces.append(_decode_literal(gap, problems))
        charset = match.group(1).lower()
        if run and charset != run_charset:
            flush()
        run_charset = charset
        run.append(_word_bytes(match.group(2), match.group(3)))
        position = match.end()
    flush()
    pieces.append(_decode_literal(raw[position:], problems))
    return "".join(pieces)


def _word_bytes(kind: bytes, text: bytes) -> bytes:
    """The bytes an encoded-word carries, tolerating bad padding and stray characters."""
    if kind in (b"q", b"Q"):
        return binascii.a2b_qp(text, header=True)
    compact = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
    compact = compact[: len(compact) - 1] if len(compact) % 4 == 1 else compact
    try:
        return binascii.a2b_base64(compact + b"=" * (-len(compact) % 4))
    except binascii.Error:
        return text


def _decode_literal(data: bytes, problems: list[str] | None) -> str:
    """Header text outside encoded-words: ASCII, or raw 8-bit that a sender forgot to encode."""
    if data.isascii():
        return data.decode("ascii")
    text, problem = decode_bytes(data, None)
    if problem and problems is not None:
        problems.append(f"header: raw 8-bit text, {problem}")
    return text
