"""Search filters as Milvus boolean expressions, with every string literal escaped."""

from __future__ import annotations

from collections.abc import Iterable

from rag.records import SearchFilters


def quote(value: str) -> str:
    """A Milvus expression string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def in_list(field: str, values: Iterable[str]) -> str:
    return f"{field} in [{', '.join(quote(v) for v in values)}]"


def filter_expression(filters: SearchFilters) -> str:
    """The Milvus boolean expression for the filters (the same rules as the SQL of the FAISS backend)."""
    where: list[str] = []
    dated: list[str] = []
    if filters.since:
        dated.append(f"date >= {quote(filters.since)}")
    if filters.until:
        dated.append(f"date <= {quote(filters.until)}")
    if dated:
        both = " and ".join(dated)
        where.append(f"(({both}) or date is null)" if filters.undated else both)
    if filters.outlets:
        ors = [f"outlet_key == {quote(o.lower())} or source like {quote(f'%{o}%')}" for o in filters.outlets]
        where.append("(" + " or ".join(ors) + ")")
    if filters.languages:
        where.append(in_list("language_key", [x.lower() for x in filters.languages]))
    if filters.article_ids:
        where.append(in_list("article_id", filters.article_ids))
    return " and ".join(where) if where else "id >= 0"
