"""Citation verification: every answer sentence must be supported by the passages it cites.

Offline, with what we have: the embedding model's similarity between the answer sentence and
each sentence of the cited passage, overlap of stemmed content words, and hard checks on numbers
and names (a number or a name in the answer that the cited source does not contain fails the
sentence, whatever the similarity). The best-matching source sentence becomes the citation's
quote, with exact offsets into the article. Citations to passages that do not exist are
dropped; sentences without support are returned flagged, never passed as cited; sources are
renumbered in order of first use. An answer with no supported sentence becomes a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.records import Citation, Passage, SentenceCheck
from rag.text.language import is_refusal, refusal_text
from rag.text.lexical import analyze
from rag.text.mentions import CITE, contains_name, names, numbers
from rag.text.sentences import sentence_spans
from rag.types import Encoder


@dataclass(frozen=True)
class VerifyConfig:
    """Thresholds; calibrated on the answer-evaluation data (see README, Verification)."""

    min_similarity: float = 0.55
    min_lexical: float = 0.5
    min_relevance: float = 0.3  # an answer sentence must be about the question (guards against injected text)
    names_same_language_only: bool = True
    fragment_words: int = 6  # up to this many words, an answer may be a bare fragment ("Choe Son Hui")


@dataclass
class Verified:
    answer: str
    refused: bool
    citations: list[Citation]
    sentences: list[SentenceCheck]
    unsupported: list[str]
    dropped_numbers: list[int]


def parse_citations(sentence: str) -> list[int]:
    nums: list[int] = []
    for m in CITE.finditer(sentence):
        for x in re.split(r"[,;]", m.group(1)):
            n = int(x.strip())
            if n not in nums:
                nums.append(n)
    return nums


def split_answer(answer: str, language: str) -> list[str]:
    """Answer sentences, with a citation that follows a sentence's full stop kept with that sentence."""
    out: list[str] = []
    for s, e in sentence_spans(answer, language):
        piece = answer[s:e]
        lead = re.match(r"((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)\.?\s*", piece)
        if lead and out:
            out[-1] = out[-1] + " " + lead.group(1).strip()
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece)
    return out


class CitationVerifier:
    def __init__(self, encoder: Encoder, config: VerifyConfig | None = None) -> None:
        self.encoder = encoder
        self.config = config or VerifyConfig()

    def verify(self, answer: str, passages: Sequence[Passage], question: str, language: str) -> Verified:
        """Check ``answer`` (citing ``passages`` as [1]..[k]) and build the cited sources."""
        cfg = self.config
        sentences = split_answer(answer.strip(), language)
        k = len(passages)
        dropped: list[int] = []
        if not sentences or all(is_refusal(s) for s in sentences):
            return Verified(refusal_text(language), True, [], [], [], dropped)

        # source sentences of every passage, with offsets into the article body
        src: list[tuple[int, int, int, str]] = []  # (passage index, start, end, text)
        for pi, p in enumerate(passages):
            for s, e in sentence_spans(p.text, p.language):
                src.append((pi, p.start + s, p.start + e, p.text[s:e]))
        claims = [CITE.sub("", s).strip() for s in sentences]
        vecs = self.encoder.encode_documents([*claims, question, *[t for *_, t in src]]) if src else None
        claim_vecs = vecs[: len(claims)] if vecs is not None else None
        q_vec = vecs[len(claims)] if vecs is not None else None
        src_vecs = vecs[len(claims) + 1 :] if vecs is not None else None
        q_terms = set(analyze(question, language))

        checks: list[SentenceCheck] = []
        best_quote: dict[int, tuple[float, int]] = {}  # passage index -> (similarity, src index)
        for si, (sentence, claim) in enumerate(zip(sentences, claims, strict=True)):
            cited = parse_citations(sentence)
            valid = [n for n in cited if 1 <= n <= k]
            dropped += [n for n in cited if not 1 <= n <= k]
            if is_refusal(claim):
                checks.append(SentenceCheck(claim, [], True, "refusal"))
                continue
            off_topic = ""
            if claim_vecs is not None and q_vec is not None:
                relevance = float(claim_vecs[si] @ q_vec)
                if relevance < cfg.min_relevance and not (set(analyze(claim, language)) & q_terms):
                    off_topic = f"not about the question (relevance {relevance:.2f})"
                    if len(claim.split()) > cfg.fragment_words:
                        checks.append(SentenceCheck(claim, valid, False, off_topic))
                        continue
            # The cited passages first; when none supports the sentence, any other retrieved passage
            # that does takes the citation (small models often cite the neighbouring chunk).
            others = [n for n in range(1, k + 1) if n not in valid]
            best: tuple[bool, str, float, list[int]] = (False, "no source", 0.0, [])
            for n in [*valid, *others]:
                if valid and best[0] and n not in valid:
                    break  # a cited passage supports it: keep the author's citation
                p = passages[n - 1]
                idx = [j for j, (pi, *_rest) in enumerate(src) if pi == n - 1]
                if not idx or claim_vecs is None or src_vecs is None:
                    continue
                sims = src_vecs[idx] @ claim_vecs[si]
                j = int(np.argmax(sims))
                sim = float(sims[j])
                text_lower = p.text.lower() + " " + p.headline.lower()
                # Every number and name the sentence asserts must be in the cited source itself, also
                # those it repeats from the question: "Wer wurde 2025 Papst?" answered with a 2016
                # article must not pass on the question's year or on a name the question attributes.
                missing_num = sorted(numbers(claim) - numbers(p.text + " " + p.headline))
                same_lang = (p.language or language)[:2] == language[:2]
                missing_names = []
                if same_lang or not cfg.names_same_language_only:
                    missing_names = [w for w in names(claim) if not contains_name(w, text_lower)]
                lex = 0.0
                if same_lang:
                    terms = set(analyze(claim, language))
                    src_terms = set(analyze(p.text + " " + p.headline, p.language))
                    lex = len(terms & src_terms) / len(terms) if terms else 0.0
                if missing_num:
                    ok, why = False, f"number {missing_num[0]} not in source [{n}]"
                elif missing_names:
                    ok, why = False, f"name {missing_names[0]!r} not in source [{n}]"
                elif sim >= cfg.min_similarity or lex >= cfg.min_lexical:
                    ok, why = True, f"supported by [{n}] (similarity {sim:.2f}, overlap {lex:.2f})"
                    if off_topic:
                        # a short answer ("Choe Son Hui [1].") shares little with the question; it is
                        # about the question when the source sentence that carries it is
                        about = float(src_vecs[idx[j]] @ q_vec) if q_vec is not None else 0.0
                        if about < cfg.min_relevance:
                            ok, why = False, f"{off_topic}; its source sentence neither ({about:.2f})"
                    if ok and valid and n not in valid:
                        why += f", cited {valid} instead"
                else:
                    ok, why = False, f"not supported by [{n}] (similarity {sim:.2f}, overlap {lex:.2f})"
                score = sim + lex
                if (ok, score) > (best[0], best[2]):
                    best = (ok, why, score, [n])
                if ok:
                    prev = best_quote.get(n - 1)
                    if prev is None or sim > prev[0]:
                        best_quote[n - 1] = (sim, idx[j])
            ok, why, score, support = best
            used = [n for n in valid if ok and (n in support or not valid)] or (support if ok else valid)
            checks.append(SentenceCheck(claim, used if ok else valid, ok, why, score))

        supported = [c for c in checks if c.supported and c.reason != "refusal"]
        if not supported:
            return Verified(refusal_text(language), True, [], checks, [c.text for c in checks], dropped)

        # renumber the sources in order of first use and rebuild the answer text
        order: list[int] = []
        for c in checks:
            if c.supported:
                for n in c.cited:
                    if n not in order:
                        order.append(n)
        new_no = {old: i + 1 for i, old in enumerate(order)}
        parts = []
        for c in checks:
            if c.supported and c.cited:
                marks = "".join(f"[{new_no[n]}]" for n in c.cited)
                text = c.text
                end = re.search(r"[.!?…]+[\"“”»«']?$", text)
                parts.append(text[: end.start()] + f" {marks}" + text[end.start() :] if end else f"{text} {marks}")
                c.cited = [new_no[n] for n in c.cited]
            else:
                parts.append(c.text)
        citations = []
        for old in order:
            p = passages[old - 1]
            q = best_quote.get(old - 1)
            if q is not None:
                _, j = q
                _, qs, qe, qt = src[j]
            else:
                qs, qe, qt = p.start, p.end, p.text
            citations.append(
                Citation(
                    n=new_no[old],
                    article_id=p.article_id,
                    headline=p.headline,
                    outlet=p.outlet,
                    date=p.date,
                    url=p.url,
                    passage=p.text,
                    passage_start=p.start,
                    passage_end=p.end,
                    quote=qt,
                    quote_start=qs,
                    quote_end=qe,
                )
            )
        unsupported = [c.text for c in checks if not c.supported]
        return Verified(" ".join(parts), False, citations, checks, unsupported, sorted(set(dropped)))
