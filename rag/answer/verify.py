"""Citation verification at the sentence that carries the claim.

Every answer sentence (a claim) is checked against the source sentences of the passages it cites:
its best-matching source sentence is the support, and the window that may vouch for it is that
sentence plus at most one neighbour (for a pronoun's referent). Offline, with what we have:

* every number and every name-like word the claim asserts must be in the window (or the
  source's headline), also those it repeats from the question;
* an attribution ("X said / pledged / announced …") must name X in the supporting sentence
  itself, unless that sentence names nobody else (then the neighbour may supply X): a claim that
  moves a statement to another person of the same passage fails;
* the claim and its supporting sentence must agree in negation ("did not pledge");
* the claim must be close to the supporting sentence: embedding similarity, or the share of its
  stemmed content words found in the window;
* the claim must be about the question (guards against injected text), except a short fragment
  whose supporting sentence is.

When none of the cited passages supports a claim but another retrieved passage does, the citation
moves there. The supporting sentence becomes the citation's quote with exact article offsets;
citations to passages that do not exist are dropped, unsupported claims are returned flagged,
sources are renumbered in order of first use, and an answer without a supported claim becomes a
refusal. The short answer is checked the same way against the windows of the supported claims.
Source sentences come with their vectors (:mod:`rag.answer.evidence`); only the claims and the
question are embedded here, and a claim copied from a source sentence reuses that sentence's vector.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.evidence import Evidence, SentenceSource, SourceSentence
from rag.records import Citation, Passage, SentenceCheck
from rag.text.language import is_refusal, refusal_text
from rag.text.lexical import analyze
from rag.text.mentions import CITE, capitalised, contains_name, names, normalize_number, numbers, opening_name
from rag.text.sentences import sentence_spans
from rag.text.timeexpr import without_day
from rag.types import Encoder

_ATTRIBUTION = re.compile(
    r"\b(said|says|told|tells|stated|states|announced|announces|pledged|pledges|promised|promises|vowed|warned|"
    r"claimed|claims|denied|denies|accused|accuses|called|demanded|demands|urged|urges|insisted|insists|confirmed|"
    r"according to|sagte|sagt|erklärte|erklärt|betonte|betont|versprach|verspricht|sicherte|sichert|zugesagt|"
    r"zusagte|kündigte|kündigt|angekündigt|forderte|fordert|gefordert|warnte|warnt|kritisierte|kritisiert|"
    r"behauptete|behauptet|bestätigte|bestätigt|dementierte|teilte|mitgeteilt|meinte|meint|laut|zufolge|"
    r"nach angaben|drohte|droht|verlangte|verlangt)\b",
    re.I,
)
_NEGATION = re.compile(
    r"\b(not|no|never|neither|nor|none|nothing|n't|cannot|nicht|kein|keine|keinen|keinem|keiner|keines|nie|niemals|"
    r"nichts|weder|niemand)\b|n't\b",
    re.I,
)


@dataclass(frozen=True)
class VerifyConfig:
    """Thresholds of the support check (see docs/architecture.md, Verification)."""

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
    short_answer: str | None = None
    short_answer_check: str = ""


@dataclass
class _Claim:
    text: str  # without citation marks
    cited: list[int]  # valid citations (1-based)
    vector: np.ndarray | None = None


@dataclass
class _Support:
    ok: bool
    reason: str
    score: float = 0.0
    passage: int = -1  # 0-based
    sentence: SourceSentence | None = None
    window: list[SourceSentence] = field(default_factory=list)


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


def _after(num: str, text: str, language: str | None) -> list[set[str]]:
    """For each occurrence of the number ``num`` in ``text``: the stems of the (up to two) words after it."""
    out = []
    for m in re.finditer(r"\d[\d.,\u202f\u00a0 ]*\d|\d", text):
        if normalize_number(m.group().strip()) == num:
            out.append(set(analyze(" ".join(text[m.end() :].split()[:2]), language)))
    return out


def _bound_alike(num: str, claim: str, source: str, claim_lang: str, source_lang: str | None) -> bool:
    """The claim says the number of what the source says it of: the words right after it agree, where both have any."""
    if re.fullmatch(r"(1[89]|20|21)\d\d", num):
        return True  # a year: what follows it is the rest of the sentence, not what it counts
    mine = [w for w in _after(num, claim, claim_lang) if w]
    theirs = [w for w in _after(num, source, source_lang) if w]
    if not mine or not theirs or (claim_lang or "")[:2] != (source_lang or claim_lang)[:2]:
        return True
    return any(m & t for m in mine for t in theirs)


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def _lexical(claim: str, text: str, claim_lang: str, text_lang: str | None) -> float:
    terms = set(analyze(claim, claim_lang))
    return len(terms & set(analyze(text, text_lang))) / len(terms) if terms else 0.0


class CitationVerifier:
    """Checks draft answers against their sources; see the module docstring.

    :param encoder: embeds the claims and the question (never the sources, which come with vectors).
    """

    def __init__(self, encoder: Encoder, config: VerifyConfig | None = None) -> None:
        self.encoder = encoder
        self.config = config or VerifyConfig()

    # steps --------------------------------------------------------------------------------------------
    def _embed(self, claims: list[_Claim], question: str, evidence: Evidence) -> np.ndarray:
        """Vectors for the claims (a copy of a source sentence reuses its vector); returns the question's
        query vector (the one retrieval computed, when the evidence carries it)."""
        known = {s.text.strip(): s.vector for group in evidence.sentences for s in group}
        todo = [c.text for c in claims if c.text.strip() not in known]
        if todo:
            vecs = self.encoder.encode_documents([self.encoder.format_document("", t) for t in todo])
            fresh = dict(zip(todo, vecs, strict=True))
        else:
            fresh = {}
        for c in claims:
            c.vector = known.get(c.text.strip(), fresh.get(c.text))
        if evidence.query_vector is not None:
            return np.asarray(evidence.query_vector, dtype=np.float32)
        return np.asarray(self.encoder.encode_queries([question])[0], dtype=np.float32)

    def _window(self, claim: str, group: list[SourceSentence], j: int) -> list[SourceSentence]:
        """The supporting sentence and the neighbour that covers most of what the claim asserts beyond it."""
        wanted = numbers(claim) | {w.lower() for w in capitalised(claim, None)}

        def covered(s: SourceSentence) -> int:
            low = s.text.lower()
            return sum(1 for w in wanted if (w in numbers(s.text)) or contains_name(w, low))

        neighbours = [group[k] for k in (j - 1, j + 1) if 0 <= k < len(group)]
        best = max(neighbours, key=lambda s: (covered(s), s.start < group[j].start), default=None)
        return [group[j], best] if best is not None and covered(best) else [group[j]]

    def _hard_checks(
        self, claim: str, n: int, p: Passage, support: SourceSentence, window: list[SourceSentence], language: str
    ) -> str:
        """Why the window cannot vouch for the claim's numbers, names, attribution or negation ('' if it can)."""
        src = f"[{n + 1}]"
        text = " ".join(s.text for s in window) + " " + p.headline
        missing_num = sorted(numbers(claim) - numbers(text))
        if missing_num:
            return f"number {missing_num[0]} not in the supporting sentence of source {src}"
        same_lang = (p.language or language)[:2] == language[:2]
        if not same_lang and self.config.names_same_language_only:
            return ""
        low = text.lower()
        missing = [w for w in names(claim) if not contains_name(w, low)]
        if missing:
            return f"name {missing[0]!r} not in the supporting sentence of source {src}"
        who = opening_name(claim, language) if _ATTRIBUTION.search(claim) else None
        if who is not None and not contains_name(who, low):
            return f"attributed to {who!r}, who is not in the supporting sentence of source {src}"
        # a person, place or thing moved in from another sentence of the same source ("Lawrow sagte …"
        # over "…, sagte Choe"): the claim's subject often opens it, where names() does not look
        passage_low = p.text.lower()
        moved = [w for w in capitalised(claim, language) if not contains_name(w, low) and contains_name(w, passage_low)]
        if moved:
            return f"{moved[0]!r} is elsewhere in source {src}, not in the sentence that supports the claim"
        claim_low = claim.lower()
        own = support.text.lower() + " " + p.headline.lower()
        # what the claim names beyond its supporting sentence (the opening word too: "Lawrow sagte …")
        from_neighbour = [
            w for w in capitalised(claim, language) if not contains_name(w, own) and contains_name(w, low)
        ]
        others = [w for w in capitalised(support.text, p.language) if not contains_name(w, claim_low)]
        from_neighbour += sorted(numbers(claim) - numbers(support.text + " " + p.headline))
        if from_neighbour and len(window) > 1:
            # what the neighbour supplies must be about the same people: a neighbour naming someone else
            # means the claim joins two statements about different people
            neighbour = next(s for s in window if s is not support)
            strangers = [
                w for w in names(neighbour.text) if not contains_name(w, claim_low) and not contains_name(w, own)
            ]
            if strangers:
                return f"{from_neighbour[0]!r} comes from a sentence about {strangers[0]!r} in source {src}"
            if _ATTRIBUTION.search(claim) and others:
                who = from_neighbour[0]
                return f"attributed to {who!r}, but the supporting sentence of source {src} names {others[0]!r}"
        for num in sorted(numbers(claim)):
            if not _bound_alike(num, claim, text, language, p.language):
                return f"number {num} is said of something else in source {src}"
        if _negated(claim) != _negated(support.text):
            return f"negation differs from the supporting sentence of source {src}"
        return ""

    def _assembled(
        self, claim: str, p: Passage, group: list[SourceSentence], window: list[SourceSentence], language: str, n: int
    ) -> str:
        """A claim built from sentences far apart: words it needs are in the passage, not in the window."""
        terms = set(analyze(claim, language))
        near = set(analyze(" ".join(s.text for s in window) + " " + p.headline, p.language))
        far = set(analyze(" ".join(s.text for s in group), p.language)) - near
        taken = terms & far
        if len(taken) >= 2 and len(taken) >= 0.25 * len(terms):
            return f"joins sentences far apart in source [{n + 1}] ({', '.join(sorted(taken)[:3])} are elsewhere)"
        return ""

    def _against(
        self,
        claim: _Claim,
        n: int,
        p: Passage,
        group: list[SourceSentence],
        q_vec: np.ndarray | None,
        language: str,
        off_topic: str,
    ) -> _Support | None:
        """The best support for ``claim`` in passage ``n`` (0-based), passing or not."""
        inside = [k for k, s in enumerate(group) if s.inside]
        if not inside or claim.vector is None:
            return None
        same_lang = (p.language or language)[:2] == language[:2]
        sims = np.stack([group[k].vector for k in inside]) @ claim.vector
        lex = [_lexical(claim.text, group[k].text, language, p.language) if same_lang else 0.0 for k in inside]
        best = int(np.argmax(sims + np.asarray(lex)))
        j, sim = inside[best], float(sims[best])
        window = self._window(claim.text, group, j)
        overlap = _lexical(claim.text, " ".join(s.text for s in window), language, p.language) if same_lang else 0.0
        # a claim may restate its source's date ("Zuvor, am 13. März 2017: …"): those numbers and the
        # month's name are the source's, not claims to be found in its sentence
        own = without_day(claim.text, p.date)
        why = self._hard_checks(own, n, p, group[j], window, language)
        score = sim + overlap
        if not why and same_lang:
            why = self._assembled(own, p, group, window, language, n)
        if why:
            return _Support(False, why, score, n, group[j], window)
        if sim < self.config.min_similarity and overlap < self.config.min_lexical:
            return _Support(
                False, f"not supported by [{n + 1}] (similarity {sim:.2f}, overlap {overlap:.2f})", score, n
            )
        reason = f"supported by [{n + 1}] (similarity {sim:.2f}, overlap {overlap:.2f})"
        if off_topic:
            # a short answer ("Choe Son Hui [1].") shares little with the question; it is about the
            # question when the source sentence that carries it is
            about = float(group[j].vector @ q_vec) if q_vec is not None else 0.0
            if about < self.config.min_relevance:
                return _Support(False, f"{off_topic}; its source sentence neither ({about:.2f})", score, n)
        return _Support(True, reason, score, n, group[j], window)

    def _check(
        self, claim: _Claim, evidence: Evidence, q_vec: np.ndarray, q_terms: set[str], language: str
    ) -> tuple[SentenceCheck, _Support | None]:
        cfg = self.config
        off_topic = ""
        if claim.vector is not None:
            relevance = float(claim.vector @ q_vec)
            if relevance < cfg.min_relevance and not (set(analyze(claim.text, language)) & q_terms):
                off_topic = f"not about the question (relevance {relevance:.2f})"
                if len(claim.text.split()) > cfg.fragment_words:
                    return SentenceCheck(claim.text, claim.cited, False, off_topic), None
        k = len(evidence.passages)
        # the cited passages first; when none supports the claim, any other retrieved passage that does
        # takes the citation (small models often cite the neighbouring chunk)
        order = [n - 1 for n in claim.cited] + [i for i in range(k) if i + 1 not in claim.cited]
        best: _Support | None = None
        for i in order:
            if best is not None and best.ok and claim.cited and i + 1 not in claim.cited:
                break  # a cited passage supports it: keep the author's citation
            s = self._against(claim, i, evidence.passages[i], evidence.sentences[i], q_vec, language, off_topic)
            if s is not None and (best is None or (s.ok, s.score) > (best.ok, best.score)):
                best = s
        if best is None:
            return SentenceCheck(claim.text, claim.cited, False, "no source"), None
        if not best.ok:
            return SentenceCheck(claim.text, claim.cited, False, best.reason, best.score), None
        reason = best.reason + (
            f", cited {claim.cited} instead" if claim.cited and best.passage + 1 not in claim.cited else ""
        )
        cited = [n for n in claim.cited if n == best.passage + 1] or [best.passage + 1]
        return SentenceCheck(claim.text, cited, True, reason, best.score), best

    def _check_short(
        self, short: str | None, supports: list[_Support], evidence: Evidence, language: str
    ) -> tuple[_Support | None, str]:
        """The supported claim that vouches for the short answer: its window, or another sentence of its
        passage, holds the short answer's numbers and names (and half its words, if it has no number)."""
        if not short or not short.strip():
            return None, ""
        wanted_names = names(short) + [w for w in short.split()[:1] if w[:1].isupper() and len(w) > 2]
        for s in supports:
            p = evidence.passages[s.passage]
            same_lang = (p.language or language)[:2] == language[:2]
            texts = [" ".join(x.text for x in s.window)] + [x.text for x in evidence.sentences[s.passage] if x.inside]
            for text in texts:
                text = f"{text} {p.headline}"
                if numbers(short) - numbers(text):
                    continue
                if same_lang:
                    low = text.lower()
                    if any(not contains_name(w, low) for w in wanted_names):
                        continue
                    if not numbers(short) and _lexical(short, text, language, p.language) < 0.5:
                        continue
                return s, f"supported by [{s.passage + 1}]"
        return None, "short answer not in the supporting sentences"

    def _citations(self, order: list[int], evidence: Evidence, supports: dict[int, _Support]) -> list[Citation]:
        out = []
        for new, old in enumerate(order, 1):
            p = evidence.passages[old]
            s = supports.get(old)
            q = s.sentence if s is not None and s.sentence is not None else None
            out.append(
                Citation(
                    n=new,
                    article_id=p.article_id,
                    headline=p.headline,
                    outlet=p.outlet,
                    date=p.date,
                    url=p.url,
                    passage=p.text,
                    passage_start=p.start,
                    passage_end=p.end,
                    quote=q.text if q else p.text,
                    quote_start=q.start if q else p.start,
                    quote_end=q.end if q else p.end,
                )
            )
        return out

    # entry point --------------------------------------------------------------------------------------
    def verify(
        self,
        answer: str,
        evidence: Evidence | Sequence[Passage],
        question: str,
        language: str,
        short_answer: str | None = None,
    ) -> Verified:
        """Check ``answer`` (citing ``evidence.passages`` as [1]..[k]) and its short answer; build the citations.

        :param evidence: the sources with their sentence vectors, or bare passages (their sentences are
            embedded here).
        """
        if not isinstance(evidence, Evidence):
            passages = list(evidence)
            evidence = Evidence(passages, SentenceSource(self.encoder).for_passages(passages), [], "")
        pieces = split_answer(answer.strip(), language)
        k = len(evidence.passages)
        if not pieces or all(is_refusal(s) for s in pieces):
            return Verified(refusal_text(language), True, [], [], [], [])
        dropped = sorted({n for s in pieces for n in parse_citations(s) if not 1 <= n <= k})
        claims = [_Claim(CITE.sub("", s).strip(), [n for n in parse_citations(s) if 1 <= n <= k]) for s in pieces]
        q_vec = self._embed([c for c in claims if not is_refusal(c.text)], question, evidence)
        q_terms = set(analyze(question, language))
        checks: list[SentenceCheck] = []
        supports: list[_Support | None] = []
        for c in claims:
            if is_refusal(c.text):
                checks.append(SentenceCheck(c.text, [], True, "refusal"))
                supports.append(None)
                continue
            check, support = self._check(c, evidence, q_vec, q_terms, language)
            checks.append(check)
            supports.append(support)
        supported = [(c, s) for c, s in zip(checks, supports, strict=True) if c.supported and s is not None]
        if not supported:
            return Verified(refusal_text(language), True, [], checks, [c.text for c in checks], dropped)
        short_support, short_check = self._check_short(short_answer, [s for _, s in supported], evidence, language)
        return self._assemble(
            checks, supports, evidence, dropped, short_answer if short_support else None, short_support, short_check
        )

    def _assemble(
        self,
        checks: list[SentenceCheck],
        supports: list[_Support | None],
        evidence: Evidence,
        dropped: list[int],
        short: str | None,
        short_support: _Support | None,
        short_check: str,
    ) -> Verified:
        """Renumber the sources in order of first use and write the verified answer text."""
        order: list[int] = []
        best: dict[int, _Support] = {}
        for c, s in zip(checks, supports, strict=True):
            if c.supported and s is not None:
                if s.passage not in order:
                    order.append(s.passage)
                if s.passage not in best or s.score > best[s.passage].score:
                    best[s.passage] = s
        new_no = {old: i + 1 for i, old in enumerate(order)}
        parts = []
        for c, s in zip(checks, supports, strict=True):
            if c.supported and s is not None:
                c.cited = [new_no[s.passage]]
                end = re.search(r"[.!?…]+[\"“”»«']?$", c.text)
                mark = f" [{new_no[s.passage]}]"
                parts.append(c.text[: end.start()] + mark + c.text[end.start() :] if end else c.text + mark + ".")
        if short_support is not None and short is not None:
            short = f"{short.strip().rstrip('.')} [{new_no[short_support.passage]}]"
        unsupported = [c.text for c in checks if not c.supported]
        citations = self._citations(order, evidence, best)
        return Verified(" ".join(parts), False, citations, checks, unsupported, dropped, short, short_check)
