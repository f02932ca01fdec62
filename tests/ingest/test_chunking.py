import itertools

import pytest

from rag.ingest.chunking import Chunker, ChunkerConfig
from rag.records import Article
from tests.conftest import SEED, needs_shared


def _article(body: str, headline: str = "Schlagzeile") -> Article:
    return Article(id="a1", headline=headline, body=body, language="de")


def _check_cover(article: Article, chunks) -> None:
    """Offsets round-trip, and together the chunks cover every sentence character."""
    covered = set()
    for c in chunks:
        assert article.body[c.start : c.end] == c.text
        covered.update(range(c.start, c.end))
    non_space = {i for i, ch in enumerate(article.body) if not ch.isspace()}
    assert non_space <= covered


@needs_shared
def test_seed_story_chunks_round_trip_and_respect_budget():
    lines = SEED.read_text(encoding="utf-8").split("\n", 1)
    art = _article(lines[1], lines[0])
    chunker = Chunker(ChunkerConfig(max_tokens=120, overlap_tokens=30))
    chunks = chunker.chunk(art)
    assert len(chunks) > 3
    assert all(c.n_tokens <= 120 for c in chunks)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    _check_cover(art, chunks)
    # overlap: at least one chunk starts before the previous one ends
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))
    # the headline goes to the embedder with every chunk
    assert all(c.embed_text.startswith(lines[0]) for c in chunks)


def test_long_sentence_is_split_by_tokens_not_truncated():
    body = "Wort " * 700 + "Ende."
    art = _article(body)
    chunks = Chunker(ChunkerConfig(max_tokens=100, overlap_tokens=0)).chunk(art)
    assert len(chunks) >= 7
    assert all(c.n_tokens <= 100 for c in chunks)
    _check_cover(art, chunks)


def test_model_limit_splits_further_and_never_truncates():
    body = " ".join(f"Satz Nummer {i} ist hier." for i in range(60))
    art = _article(body)
    # a pretend model that takes at most 120 characters: chunks must shrink to fit
    chunker = Chunker(ChunkerConfig(max_tokens=200, overlap_tokens=0), fits=lambda t: len(t) <= 140)
    chunks = chunker.chunk(art)
    assert all(len(c.embed_text) <= 140 for c in chunks)
    _check_cover(art, chunks)


def test_real_model_tokenizer_limit(small_embedder):
    limit = small_embedder.max_seq_length
    body = " ".join(["Donaudampfschifffahrtsgesellschaftskapitänsmütze"] * 400) + "."
    art = _article(body)
    chunker = Chunker(
        ChunkerConfig(max_tokens=400, overlap_tokens=0),
        format_embed=small_embedder.format_document,
        fits=lambda t: small_embedder.count_tokens(t) <= limit,
    )
    chunks = chunker.chunk(art)
    assert all(small_embedder.count_tokens(c.embed_text) <= limit for c in chunks)
    _check_cover(art, chunks)


def test_config_validation():
    with pytest.raises(ValueError):
        ChunkerConfig(max_tokens=100, overlap_tokens=100)
    with pytest.raises(ValueError):
        ChunkerConfig(max_tokens=8)
