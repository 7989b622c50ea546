"""What an agent reads of an incoming message: quoted history and signatures trimmed, the original kept.

Also the HTML-to-text conversion for mail that has no plain part; blockquotes become "> " lines so the
same trimming removes quoted history from HTML-only replies (Gmail, QQ Mail, Outlook web).
"""

import re
from html.parser import HTMLParser

# A line after which everything is history: separators of the common clients, in English and Chinese.
_SEPARATOR = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|original|原始邮件|原始郵件|原始信件|原邮件|原郵件)\s*-{2,}"
    r"|_{10,}"
    r"|(?:sent from my\b|get outlook for\b|发自我的|發自我的).{0,40}"
    r"|(?:从|從)我的\s*(?:iphone|ipad|android|手机|手機|华为|華為|小米|荣耀|oppo|vivo).{0,20}"
    r"|--\s?"
    r")\s*$",
    re.IGNORECASE,
)
_WROTE = re.compile(r"(?:wrote|写道|寫道)\s*[:：]\s*$", re.IGNORECASE)
_CN_ATTRIBUTION = re.compile(r"^在|于|於|\d|@")
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|发件人|發件人|寄件者|寄件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:sent|date|to|cc|subject|发送时间|發送時間|时间|時間|日期|寄件日期|收件人|抄送|副本|主题|主題|主旨)"
    r"\s*\*?\s*[:：]",
    re.IGNORECASE,
)


def visible_text(text: str) -> str:
    """Trim quoted history and the signature from a message body for display (the original is kept)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _history_start(lines)
    head = lines[:cut] if cut is not None else lines
    if cut is not None and not any(line.strip() and not _quoted(line) for line in head):
        # Answered below the quote (inline replies): keep the answer, drop only the quoted lines.
        head = [line for index, line in enumerate(lines) if index != cut]
    kept = [line for line in head if not _quoted(line)]
    result = "\n".join(kept).strip("\n")
    result = re.sub(r"\n{3,}", "\n\n", result).rstrip()
    return result if result.strip() else (text or "").strip()


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _history_start(lines: list[str]) -> int | None:
    """Index of the first line where quoted history or the signature starts, or None."""
    for index, line in enumerate(lines):
        if _SEPARATOR.match(line):
            return _with_rule_above(lines, index)
        stripped = line.strip()
        if stripped.lower().startswith("on ") and len(stripped) < 300:
            # Gmail wraps "On <date> <name> <address> wrote:" over two or three lines.
            joined = " ".join(part.strip() for part in lines[index:index + 3])
            if _WROTE.search(stripped) or re.search(r"\bwrote\s*:", joined, re.IGNORECASE):
                return index
        chinese = _WROTE.search(stripped) and "wrote" not in stripped.lower()
        if _WROTE.search(stripped) and (
            (chinese and _CN_ATTRIBUTION.search(stripped)) or _next_is_quoted(lines, index)
        ):
            return index
        if _HEADER_FROM.match(line) and sum(
            1 for following in lines[index + 1:index + 6] if _HEADER_OTHER.match(following)
        ) >= 1:
            return _with_rule_above(lines, index)
    return None


def _next_is_quoted(lines: list[str], index: int) -> bool:
    following = [line for line in lines[index + 1:index + 4] if line.strip()]
    return bool(following) and _quoted(following[0])


def _with_rule_above(lines: list[str], index: int) -> int:
    """Outlook puts a rule line above its header block: cut there too."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and re.fullmatch(r"\s*(?:_{5,}|-{5,})\s*", lines[above]):
        return above
    return index


_BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
          "blockquote", "hr", "dd", "dt", "section", "article", "header", "footer", "center", "form"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _TextExtractor(HTMLParser):
    """Plain text from HTML: block elements break lines, blockquotes become '> ' quoted lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.depth = 0
        self.skipping = 0
        self.pre = 0

    def _newline(self) -> None:
        line = "".join(self.current).strip() if not self.pre else "".join(self.current)
        self.current = []
        self.lines.append(("> " * self.depth) + line if line else "")

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            if self.current:
                self._newline()
            if tag == "blockquote":
                self.depth += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append("  ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            if self.current:
                self._newline()
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("br", "hr"):
            self._newline()

    def handle_data(self, data):
        if self.skipping:
            return
        if self.pre:
            parts = data.split("\n")
            for part in parts[:-1]:
                self.current.append(part)
                self._newline()
            self.current.append(parts[-1])
        else:
            text = re.sub(r"[ \t\r\n\f]+", " ", data)
            if text.strip() or self.current:
                self.current.append(text)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body."""
    parser = _TextExtractor()
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; anything it still refuses leaves what it read
        pass
    if parser.current:
        parser._newline()
    text = "\n".join(line.replace("\xa0", " ").rstrip() for line in parser.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
