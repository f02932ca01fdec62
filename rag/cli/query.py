"""``rag search``, ``rag ask``, ``rag chat``: the pipeline a user queries, built by :mod:`rag.pipeline`."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from rag.cli.common import (
    AsOfOpt,
    GeneratorOpt,
    IndexOpt,
    SinceOpt,
    SourceOpt,
    UntilOpt,
    chosen_generator,
    make_filters,
    out,
    settings_for,
    warn,
)
from rag.config import Settings
from rag.records import Answer, Passage, TimeScope, Turn

if TYPE_CHECKING:
    from rag.answer.chain import NewsQA


def _print_passages(passages: list[Passage], total_s: float) -> None:
    if not passages:
        out.print("no passages found")
        return
    for rank, p in enumerate(passages, 1):
        comp = " ".join(f"{n}#{r}" for n, r in p.ranks.items())
        meta = " · ".join(x for x in (p.outlet, p.date) if x)
        out.print(
            f"[bold]{rank}. {p.headline}[/bold]  [dim]{meta}  score {p.score:.4f}  {comp}[/dim]",
            highlight=False,
            soft_wrap=True,
        )
        text = p.text if len(p.text) <= 400 else p.text[:400] + "…"
        out.print(f"   {text}", highlight=False, soft_wrap=True)
        if p.also_in:
            out.print(
                "   [dim]also in: "
                + "; ".join(f"{a['outlet'] or '?'} {a['date'] or ''}".strip() for a in p.also_in)
                + "[/dim]",
                soft_wrap=True,
            )
    out.print(f"[dim]{total_s * 1000:.0f} ms[/dim]")


def search(
    question: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Passages to return.")] = 8,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = [],  # noqa: B006
    language: Annotated[list[str], typer.Option("--language", help="Article language (repeatable).")] = [],  # noqa: B006
    mode: Annotated[str | None, typer.Option(help="hybrid, dense or bm25.")] = None,
    window: Annotated[int, typer.Option(help="Grow each passage by N sentences either side.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the passages as JSON.")] = False,
    as_of: AsOfOpt = None,
    timeline: Annotated[bool, typer.Option("--timeline", help="Print the passages as a per-day list.")] = False,
) -> None:
    """Ranked passages for a question: score, headline, outlet, date, and each component's rank.

    Time words in the question ("yesterday", "im März 2017", "latest") filter and rank by date.
    """
    from rag.pipeline import build_search, load_encoder, open_index
    from rag.retrieve.collapse import sentence_window
    from rag.text.timeexpr import iso_day, parse_as_of, parse_time

    settings = settings_for(index, retrieval_mode=mode, retrieval_k=k, as_of=as_of)
    filters = make_filters(since, until, source, language)
    as_of_day = parse_as_of(settings.as_of)
    encoder = load_encoder(settings)
    with open_index(settings, encoder) as idx:
        when = parse_time(question, as_of_day, iso_day(idx.stats().get("date_max")))
        result = build_search(settings, idx, encoder).search(question, k=k, filters=filters, when=when)
        passages = result.passages
        if window:
            passages = [sentence_window(idx, p, window, window) for p in passages]
    if json_out:
        data = {
            "question": question,
            "time": when.to_json(),
            "timings": result.timings,
            "passages": [p.to_dict() for p in passages],
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if when.bound:
        out.print(f"[dim]{escape(describe_time(when))}[/dim]", highlight=False)
    if timeline:
        for line in timeline_lines(passages):
            out.print(escape(line), highlight=False, soft_wrap=True)
        return
    _print_passages(passages, result.timings["total_s"])


def describe_time(when: TimeScope) -> str:
    """One line: the window and recency the question was read as, and the words they came from."""
    parts = [f"as of {when.as_of}"]
    if when.window:
        parts.append(f"window {when.window[0]} … {when.window[1]}")
    if when.recency:
        parts.append("newest first")
    return "time: " + ", ".join(parts) + (f" (from {when.expression!r})" if when.expression else "")


def timeline_lines(passages: Sequence[Passage], cited: Collection[str] = ()) -> list[str]:
    """The passages as a compact per-day list, oldest day first; undated ones last; cited articles marked *."""
    from rag.answer.currency import by_day

    lines = []
    for day, group in by_day(passages):
        lines.append(day or "undated")
        for p in group:
            mark = "*" if p.article_id in cited else "-"
            lines.append(f"  {mark} {p.headline} ({p.outlet or '?'})")
    return lines


def render_answer(answer: Answer, streamed: bool) -> None:
    """The verified answer (its short answer first, in bold), its sources with the quoted sentences, and notes."""
    if streamed:
        out.print("\n[dim]verified:[/dim]")
    if answer.short_answer:
        out.print(f"[bold]{escape(answer.short_answer)}[/bold]", highlight=False, soft_wrap=True)
    out.print(escape(answer.answer), highlight=False, soft_wrap=True)
    for c in answer.citations:
        meta = escape(" · ".join(x for x in (c.outlet, c.date) if x))
        out.print(f"[bold]\\[{c.n}][/bold] {escape(c.headline)} [dim]{meta}[/dim]", highlight=False, soft_wrap=True)
        out.print(
            f"    „{escape(c.quote)}“ [dim](chars {c.quote_start}-{c.quote_end} of {escape(c.article_id)})[/dim]",
            highlight=False,
            soft_wrap=True,
        )
    for s in answer.unsupported_sentences:
        out.print(f"[yellow]unsupported:[/yellow] {escape(s)}", highlight=False, soft_wrap=True)
    if answer.time is not None and answer.time.bound:
        out.print(f"[dim]{escape(describe_time(answer.time))}[/dim]", highlight=False)
    if answer.sources_span:
        out.print(f"[dim]sources dated {answer.sources_span[0]} … {answer.sources_span[1]}[/dim]", highlight=False)
    for note in answer.notes:
        warn(note)
    t = answer.timings
    out.print(
        f"[dim]{answer.generator} · retrieve {t.get('retrieve_s', 0):.2f} s · first token "
        f"{t.get('first_token_s', 0):.2f} s · total {t.get('total_s', 0):.2f} s[/dim]"
    )


def _show_stream(pieces: Iterable[str | Answer]) -> Answer | None:
    """Print the draft as it streams, then the verified answer; returns the answer."""
    streamed = False
    answer = None
    for piece in pieces:
        if isinstance(piece, Answer):
            answer = piece
        else:
            streamed = True
            out.print(piece, end="", highlight=False, soft_wrap=True)
    if answer is not None:
        render_answer(answer, streamed)
    return answer


def _qa(settings: Settings, generator: str | None) -> NewsQA:
    from rag.pipeline import build_qa, load_encoder, open_index

    encoder = load_encoder(settings)
    store = open_index(settings, encoder)
    return build_qa(settings, chosen_generator(settings, generator), store=store, encoder=encoder, on_warning=warn)


def ask(
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    index: IndexOpt = None,
    generator: GeneratorOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = [],  # noqa: B006
    k: Annotated[int | None, typer.Option("--k", "-k", help="Passages given to the generator.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")] = False,
    as_of: AsOfOpt = None,
) -> None:
    """Answer a question with verified citations; streams on a terminal."""
    settings = settings_for(index, generator=generator, as_of=as_of)
    qa = _qa(settings, generator)
    filters = make_filters(since, until, source, [])
    if json_out:
        print(json.dumps(qa.ask(question, filters=filters, k=k).to_json(), ensure_ascii=False))
        return
    _show_stream(qa.stream(question, filters=filters, k=k))


def chat(index: IndexOpt = None, generator: GeneratorOpt = None, as_of: AsOfOpt = None) -> None:
    """Ask questions and follow-ups in one conversation (empty line or Ctrl-D ends)."""
    settings = settings_for(index, generator=generator, as_of=as_of)
    qa = _qa(settings, generator)
    history: list[Turn] = []
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = _show_stream(qa.stream(question, history=history))
        if answer is not None:
            history.append(Turn(question, answer.answer))
