"""Why is the BM25 leg weaker than a plain BM25 over passages? Variants measured side by side.

    python eval/lexical_study.py --squad ../shared/data/xquad/xquad.de.json \
        --gold eval/datasets/news_de.jsonl ../shared/data/seed ../shared/data/gnad10k/test.csv \
        --out eval/results/lexical_study.json

Needs no embedding model: the documents are cut by the pipeline's own chunker (the configured
chunk size) and every variant is a bm25s index over those chunks or over whole articles, ranked
at the document level like ``rag eval retrieval`` (an article at the rank of its first chunk).
Variants change one thing at a time against today's analysis (:func:`rag.text.lexical.analyze`
of headline + chunk): the headline, the granularity (chunk, article, chunk score plus the
article's), stop words, German compound splitting, the BM25 parameters. The chosen analysis is
then measured through the real pipeline with ``rag eval retrieval``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

from rag.config import Settings
from rag.evaluate.datasets import RetrievalTask, load_gold_questions, load_squad
from rag.evaluate.metrics import query_metrics
from rag.ingest.chunking import Chunker, ChunkerConfig
from rag.ingest.loaders import load_paths
from rag.records import Article
from rag.text import lexical

Analyzer = Callable[[str, str | None], list[str]]


@dataclass(frozen=True)
class Variant:
    name: str
    analyze: Analyzer
    headline: bool = True  # headline prepended to every chunk's terms
    level: str = "chunk"  # chunk | article | chunk+article | chunk+siblings
    # chunk+article: chunk score + w * the article's score (a second index of whole articles);
    # chunk+siblings: chunk score + w * the best score of the article's other chunks (no second index)
    article_weight: float = 0.0
    k1: float = 1.5
    b: float = 0.75


def _no_stop(text: str, language: str | None) -> list[str]:
    stem = lexical._stemmer(lexical.norm_lang(language))
    words = lexical._WORD.findall(text.lower())
    return stem.stemWords(words) if stem else words


@lru_cache(maxsize=200_000)
def _split_words(word: str, min_len: int = 10, depth: int = 2) -> tuple[str, ...]:
    """The parts of a German compound (compound-split's CharSplit scores; a split needs a score > 0)."""
    from compound_split import char_split

    if len(word) < min_len or depth == 0 or not word.isalpha():
        return ()
    best = char_split.split_compound(word)[0]
    if best[0] <= 0:
        return ()
    head, tail = best[1].lower(), best[2].lower()
    return (head, tail, *_split_words(head, min_len, depth - 1), *_split_words(tail, min_len, depth - 1))


def analyze_split(text: str, language: str | None) -> list[str]:
    """Today's analysis plus, for German, the stems of each compound's parts (the compound stays)."""
    lang = lexical.norm_lang(language)
    if lang != "de":
        return lexical.analyze(text, language)
    stops = lexical._stops(lang)
    words: list[str] = []
    for w in lexical._WORD.findall(text.lower()):
        if w in stops:
            continue
        words.append(w)
        words.extend(x for x in _split_words(w) if len(x) > 2 and x not in stops)
    stem = lexical._stemmer(lang)
    return stem.stemWords(words) if stem else words


def analyze_nouns(text: str, language: str | None) -> list[str]:
    """The shipped analyser: german-nouns' Wiktionary-based compound parts beside each word."""
    return lexical.analyze(text, language, split_compounds=True)


def variants() -> list[Variant]:
    out = [
        Variant("today (headline+chunk, stop, snowball)", lexical.analyze),
        Variant("no headline", lexical.analyze, headline=False),
        Variant("no stop-word removal", _no_stop),
        Variant("article level", lexical.analyze, level="article"),
        Variant("chunk + 0.5 x article", lexical.analyze, level="chunk+article", article_weight=0.5),
        Variant("chunk + 1.0 x article", lexical.analyze, level="chunk+article", article_weight=1.0),
        Variant("chunk + 0.5 x best sibling chunk", lexical.analyze, level="chunk+siblings", article_weight=0.5),
        Variant("k1 1.2 b 0.75", lexical.analyze, k1=1.2),
        Variant("k1 0.9 b 0.4", lexical.analyze, k1=0.9, b=0.4),
    ]
    if os.environ.get("STUDY_ONLY_SPLIT"):
        out = []
    out.append(Variant("compound split", analyze_split))
    out.append(Variant("german-nouns split", analyze_nouns))
    out.append(
        Variant("compound split, chunk + 0.5 x article", analyze_split, level="chunk+article", article_weight=0.5)
    )
    return out


def _index(docs: Sequence[list[str]], v: Variant) -> bm25s.BM25:
    bm = bm25s.BM25(k1=v.k1, b=v.b)
    bm.index(list(docs), show_progress=False)
    return bm


def _scores(bm: bm25s.BM25, terms: list[str]) -> np.ndarray:
    return np.asarray(bm.get_scores(terms), dtype=np.float32)


def _sibling_best(s: np.ndarray, chunk_art: np.ndarray, n_art: int) -> np.ndarray:
    """For each chunk, the best score among the other chunks of its article (0 if none)."""
    order = np.lexsort((-s, chunk_art))  # by article, best first
    best = np.zeros(n_art, dtype=np.float32)
    second = np.zeros(n_art, dtype=np.float32)
    first_seen = np.zeros(n_art, dtype=bool)
    for i in order:
        a = chunk_art[i]
        if not first_seen[a]:
            best[a], first_seen[a] = s[i], True
        elif s[i] > second[a]:
            second[a] = s[i]
    is_best = s >= best[chunk_art]
    return np.where(is_best, second[chunk_art], best[chunk_art])


def run_variant(task: RetrievalTask, chunks: list[tuple[str, Article, str]], v: Variant) -> dict[str, float]:
    """MRR@10 / R@1 / R@10 at document level for one variant."""
    docs = {a.id: a for _, a, _ in chunks}
    art_ids = list(docs)
    art_pos = {a: i for i, a in enumerate(art_ids)}
    chunk_art = np.asarray([art_pos[a.id] for _, a, _ in chunks])
    langs = sorted({lexical.norm_lang(a.language) for a in docs.values()})
    t = time.perf_counter()
    chunk_bm = None
    if v.level != "article":
        chunk_bm = _index(
            [v.analyze(f"{a.headline}\n{text}" if v.headline else text, a.language) for _, a, text in chunks], v
        )
    art_bm = None
    if v.level in ("article", "chunk+article"):
        art_bm = _index([v.analyze(f"{a.headline}\n{a.body}", a.language) for a in docs.values()], v)
    build = time.perf_counter() - t
    sums: dict[str, float] = {}
    for qid, text in task.queries:
        terms: dict[str, None] = {}
        for lang in langs:
            for term in v.analyze(text, lang):
                terms.setdefault(term, None)
        q = list(terms)
        if not q:
            ranking: list[str] = []
        elif v.level == "article":
            assert art_bm is not None
            s = _scores(art_bm, q)
            ranking = [art_ids[i] for i in np.argsort(-s, kind="stable")[:100] if s[i] > 0]
        else:
            assert chunk_bm is not None
            s = _scores(chunk_bm, q)
            if art_bm is not None:
                s = s + v.article_weight * _scores(art_bm, q)[chunk_art]
            elif v.level == "chunk+siblings":
                s = s + v.article_weight * _sibling_best(s, chunk_art, len(art_ids))
            seen: dict[str, None] = {}
            for i in np.argsort(-s, kind="stable")[:300]:
                if s[i] > 0:
                    seen.setdefault(art_ids[chunk_art[i]], None)
            ranking = list(seen)
        for key, val in query_metrics(ranking, task.qrels[qid]).items():
            sums[key] = sums.get(key, 0.0) + val
    n = max(1, len(task.queries))
    return {
        "mrr@10": round(sums["mrr@10"] / n, 4),
        "recall@1": round(sums["recall@1"] / n, 4),
        "recall@10": round(sums["recall@10"] / n, 4),
        "build_s": round(build, 2),
    }


def chunk_texts(articles: Sequence[Article], settings: Settings) -> list[tuple[str, Article, str]]:
    chunker = Chunker(ChunkerConfig(settings.chunk_tokens, settings.chunk_overlap, settings.tokenizer))
    return [(f"{a.id}:{i}", a, c.text) for a in articles for i, c in enumerate(chunker.chunk(a))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--squad", type=Path, action="append", default=[])
    ap.add_argument("--gold", type=Path, help="a gold set of ours (article_ids); the paths after it are its corpus")
    ap.add_argument("corpus", nargs="*", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    settings = Settings()
    tasks: list[tuple[RetrievalTask, list[Article]]] = [(t, t.docs) for t in map(load_squad, args.squad)]
    if args.gold:
        arts = [a for a in load_paths(args.corpus) if isinstance(a, Article)]
        tasks.append((load_gold_questions(args.gold), arts))
    rows = []
    for task, arts in tasks:
        chunks = chunk_texts(arts, settings)
        print(f"\n{task.name}: {len(arts)} documents, {len(chunks)} chunks, {len(task.queries)} queries")
        for v in variants():
            m = run_variant(task, chunks, v)
            rows.append({"dataset": task.name, "variant": v.name, **m})
            print(f"  {v.name:<44} MRR@10 {m['mrr@10']:.4f}  R@1 {m['recall@1']:.4f}  R@10 {m['recall@10']:.4f}")
    if args.out:
        args.out.write_text(json.dumps({"chunk_tokens": settings.chunk_tokens, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
