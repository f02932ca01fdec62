"""The Milvus store: the same read/write interfaces as the FAISS index, stored in Milvus via pymilvus.

``Settings.milvus_uri`` is all a user changes: a Milvus Lite file (the default,
``<index folder>/milvus.db``, embedded, used in the tests) or a server/cluster URI
(``http://host:19530``, with ``Settings.milvus_token`` where it needs one). One index is three
collections named after it, ``newsrag_<index>_chunks``, ``..._articles`` and ``..._meta``:

* chunks: int64 chunk id (primary key), the article's metadata copied onto each chunk (article_id,
  headline, outlet, date, url, language, section, source, plus lower-cased ``outlet_key`` and
  ``language_key`` for case-insensitive filters), start/end offsets, the text, the dense vector
  (``FLOAT_VECTOR``, inner product of L2-normalised vectors, as FAISS) and a sparse vector that
  Milvus's own BM25 function fills from ``terms``.
* articles: the article records with the content hash used for idempotent re-ingest and the full
  body (split into parts of at most 60,000 bytes: a Milvus ``VARCHAR`` holds 65,535).
* meta: the manifest (model id, weights hash, dim, chunker, counts, generation) and the chunk id
  counter. The manifest is checked with the same :func:`rag.store.base.check_compatible` errors as FAISS.

BM25 analysis. ``terms`` holds exactly what the FAISS backend's bm25s index gets
(:func:`rag.text.lexical.analyze`: stop words removed, Snowball stem of the article's language) and the
query is analysed with :func:`rag.text.lexical.analyze_query`; Milvus tokenises these terms with its
``standard`` analyzer and does the BM25 weighting, the inverted index and the search. This keeps the
two backends' lexical matching the same and gives German (and every Snowball language) stemming
on Milvus Lite too, whose analyzer (milvus-lite 3.x) has no stemmer filter and no per-language
analyzers. The BM25 parameters are bm25s's defaults (k1 1.5, b 0.75); Milvus Lite computes the
statistics per segment, so scores (not which chunks match) can differ a little from bm25s.

Fusion. Dense and BM25 candidates are two Milvus searches with the same filter expression; they
are fused by our weighted :func:`rag.retrieve.fusion.rrf` (through :class:`rag.retrieve.search.HybridSearch`),
not by Milvus's ``hybrid_search``: its ``RRFRanker`` has no per-list weights and its
``WeightedRanker`` mixes normalised scores, not ranks, so neither ranks like the FAISS backend
with ``dense_weight``/``bm25_weight``. The cost is one extra round trip per query.

Filters become Milvus boolean expressions (:func:`rag.store.milvus.filters.filter_expression`)
applied inside each search, so a filter never empties a top-k that was cut before filtering.
Dates are ISO strings and compare lexically; an article without a date never passes a date
filter (as in SQL).

No atomic generations. Milvus has no multi-collection transaction, so a write is applied article by
article, in an order that never loses what is already indexed:

1. chunk ids come from a counter that is persisted *before* the ids are used (in blocks), so new ids
   are always larger than every id written before, even by an interrupted writer;
2. the new chunks are inserted (readers may briefly see old and new chunks of the article: they
   overlap and :func:`rag.retrieve.collapse.collapse` keeps one);
3. the article record (keyed by article id, content hash and part) is written, part 0 last: part 0
   carries the content hash that makes the next ingest skip the article;
4. the article's older chunks (``id < first new id``) and records with another content hash are
   deleted.

An ingest killed anywhere leaves the previous version of an article readable or the new one
complete; the next ingest of the same input redoes every article whose step 3 did not finish
(its hash is missing or differs) and removes the leftovers in step 4. An article with two part-0
records (killed between 3 and 4) reports no content hash, so it is redone too. ``commit`` only
updates the manifest (counts, generation, languages) and flushes. Only one writer at a time: a lock
file in the index folder serialises writers on one machine; several machines writing one Milvus
index at once is not supported.

Modules: :mod:`~rag.store.milvus.schema` (names, connection, collections and their fields),
:mod:`~rag.store.milvus.filters` (the filter compiler), :mod:`~rag.store.milvus.reader` and
:mod:`~rag.store.milvus.writer` (with the crash repair).
"""
