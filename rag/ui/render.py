"""HTML for the chat: the answer with each [n] linking to its source card, and the source cards.

Everything that comes from an article or a model is escaped here, once, for the context it lands in.
"""

from __future__ import annotations

import html
import re
from datetime import date

from rag.answer.currency import by_day
from rag.records import Answer, SourceRef
from rag.text.timeexpr import iso_day

CSS = """
.src-card {border:1px solid #d0d7de; border-radius:8px; padding:10px 12px; margin:8px 0; background: #fff;}
.src-card h4 {margin:0 0 4px 0; font-size: 1rem;}
.src-meta {color:#57606a; font-size:0.85rem; margin-bottom:6px;}
.src-card mark {background:#fff3a3; padding:0 2px;}
.src-flag {color:#9a6700; font-size:0.9rem;}
.cite {font-weight:600; text-decoration:none;}
.timeline {border:1px solid #d0d7de; border-radius:8px; padding:8px 12px 4px; margin:0 0 8px 0;}
.tl-axis {position:relative; height:32px; margin:6px 14px 0; border-bottom:2px solid #57606a;}
.tl-day {position:absolute; bottom:-6px; transform:translateX(-50%); display:flex; flex-direction:column-reverse;
  align-items:center; gap:2px;}
.tl-dot {display:block; min-width:10px; height:10px; border-radius:5px; background:#afb8c1; font-size:0.7rem;
  line-height:10px; text-align:center; text-decoration:none; color:#fff;}
.tl-dot.cited {background:#0969da; min-width:22px; height:14px; line-height:14px; border-radius:7px;}
.tl-scale {display:flex; justify-content:space-between; color:#57606a; font-size:0.75rem; margin:8px 0 2px;}
.tl-days {list-style:none; padding:0; margin:4px 0; font-size:0.85rem;}
.tl-days li {margin:2px 0;}
.tl-item.cited {font-weight:600;}
"""


def answer_markdown(answer: Answer) -> str:
    """The answer text with each [n] turned into a link to its source card."""
    text = html.escape(answer.answer, quote=False)
    if answer.short_answer:
        text = f"**{html.escape(answer.short_answer, quote=False)}**\n\n{text}"
    text = re.sub(r"\[(\d+)\]", lambda m: f'<a class="cite" href="#src-{m[1]}">[{m[1]}]</a>', text)
    if answer.time is not None and answer.time.bound:
        when = answer.time
        window = f"{when.window[0]} … {when.window[1]}" if when.window else "newest first"
        said = f" (from “{html.escape(when.expression)}”)" if when.expression else ""
        text += f"\n\n🕒 *time:* {window}, as of {when.as_of}{said}"
    if answer.sources_span:
        text += f"\n\n🗞️ *sources dated* {answer.sources_span[0]} … {answer.sources_span[1]}"
    if answer.notes:
        text += "\n\n" + "\n".join(f"ℹ️ {html.escape(n)}" for n in answer.notes)
    if answer.unsupported_sentences:
        text += "\n\n" + "\n".join(
            f"⚠️ *not supported by the sources:* {html.escape(s)}" for s in answer.unsupported_sentences
        )
    return text


def sources_html(answer: Answer | None, article_bodies: dict[str, str] | None = None) -> str:
    """Cards for the cited sources only, numbered as in the answer, with the quote highlighted."""
    if answer is None:
        return "<div class='src-empty'>Sources of the answer appear here.</div>"
    if not answer.citations:
        return timeline_html(answer) + "<div class='src-empty'>No sources cited.</div>"
    cards = [timeline_html(answer)]
    for c in answer.citations:
        rel_s, rel_e = c.quote_start - c.passage_start, c.quote_end - c.passage_start
        passage = c.passage
        if 0 <= rel_s <= rel_e <= len(passage):
            body = (
                html.escape(passage[:rel_s])
                + f"<mark data-quote='{c.n}'>{html.escape(passage[rel_s:rel_e])}</mark>"
                + html.escape(passage[rel_e:])
            )
        else:
            body = html.escape(passage)
        meta = " · ".join(html.escape(x) for x in (c.outlet, c.date) if x)
        link = f" · <a href='{html.escape(c.url)}' target='_blank' rel='noopener'>link</a>" if c.url else ""
        cards.append(
            f"<div class='src-card' id='src-{c.n}'><h4>[{c.n}] {html.escape(c.headline)}</h4>"
            f"<div class='src-meta'>{meta}{link}</div><div class='src-text'>{body}</div></div>"
        )
    return "".join(cards)


def _day_pct(day: date, first: date, last: date) -> float:
    span = (last - first).days
    return 50.0 if span <= 0 else 100.0 * (day - first).days / span


def _ref_label(r: SourceRef) -> str:
    return " · ".join(html.escape(x) for x in (r.headline, r.outlet or "", r.date or "undated") if x)


def timeline_html(answer: Answer | None) -> str:
    """The retrieved articles on a date axis and as a per-day list; cited ones marked and linked to their card.

    Empty when no retrieved article carries a date (an undated archive has no timeline to show).
    """
    if answer is None:
        return ""
    days = [(iso_day(d), refs) for d, refs in by_day(answer.retrieved)]
    dated = [when for when, _ in days if when is not None]
    if not dated:
        return ""
    first, last = dated[0], dated[-1]
    marks, rows = [], []
    for when, refs in days:
        items = []
        dots = []
        for r in refs:
            n = r.cited[0] if r.cited else None
            label = " ".join(f"[{c}]" for c in r.cited)
            if n is not None:
                dots.append(f"<a class='tl-dot cited' href='#src-{n}' title='{_ref_label(r)}'>{n}</a>")
                items.append(f"<a class='tl-item cited' href='#src-{n}'>{label} {html.escape(r.headline)}</a>")
            else:
                dots.append(f"<span class='tl-dot' title='{_ref_label(r)}'></span>")
                items.append(f"<span class='tl-item'>{html.escape(r.headline)}</span>")
        name = when.isoformat() if when else "undated"
        if when:
            left = _day_pct(when, first, last)
            marks.append(f"<div class='tl-day' data-day='{name}' style='left:{left:.1f}%'>{''.join(dots)}</div>")
        rows.append(f"<li data-day='{name}'><b>{name}</b> " + " · ".join(items) + "</li>")
    ends = [first] if len(dated) == 1 else [first, last]
    scale = "".join(f"<span>{d.isoformat()}</span>" for d in ends)
    return (
        "<div class='timeline' id='timeline'><div class='tl-axis'>" + "".join(marks) + "</div>"
        f"<div class='tl-scale'>{scale}</div><ul class='tl-days'>" + "".join(rows) + "</ul></div>"
    )
