"""HTML for the chat: the answer with each [n] linking to its source card, and the source cards.

Everything that comes from an article or a model is escaped here, once, for the context it lands in.
"""

from __future__ import annotations

import html
import re

from rag.records import Answer

CSS = """
.src-card {border:1px solid #d0d7de; border-radius:8px; padding:10px 12px; margin:8px 0; background: #fff;}
.src-card h4 {margin:0 0 4px 0; font-size: 1rem;}
.src-meta {color:#57606a; font-size:0.85rem; margin-bottom:6px;}
.src-card mark {background:#fff3a3; padding:0 2px;}
.src-flag {color:#9a6700; font-size:0.9rem;}
.cite {font-weight:600; text-decoration:none;}
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
        return "<div class='src-empty'>No sources cited.</div>"
    cards = []
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
