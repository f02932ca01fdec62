"""Approximate nearest-neighbour indexes derived from the exact vector store.

The exact ``IndexIDMap2(IndexFlatIP)`` stays the master copy of every vector (it supports
removal and reconstruction, which incremental ingest needs). Above a size threshold, or when
configured, each new generation also gets an ANN index built from the master; readers then
search the ANN index and never load the master. Kinds (chosen from ``rag bench scale``):

- ``flat``: exact search, no ANN file (small corpora);
- ``hnsw``: HNSW graph, 32 links, efSearch 96: best recall, slow to build on 2 cores;
- ``ivfsq8``: inverted lists over 8-bit scalar-quantised vectors (a quarter of the memory);
- ``ivfpq``: inverted lists over product-quantised codes (dim/8 bytes per vector; the smallest).
"""

from __future__ import annotations

import contextlib
import math

import faiss
import numpy as np

KINDS = ("auto", "flat", "hnsw", "ivfsq8", "ivfpq")
AUTO_THRESHOLD = 250_000  # chunks; below it exact search is fast enough here (see README, Scale)
AUTO_KIND = "ivfsq8"
NPROBE = 32
EF_SEARCH = 96


def resolve_kind(kind: str, n: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown FAISS index kind {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "auto":
        return AUTO_KIND if n >= AUTO_THRESHOLD else "flat"
    return kind


def master_arrays(master: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, ids) of an IndexIDMap2 over a flat index."""
    ids = faiss.vector_to_array(master.id_map).astype(np.int64)  # type: ignore[attr-defined]
    inner = faiss.downcast_index(master.index)  # type: ignore[attr-defined]
    vecs = inner.reconstruct_n(0, inner.ntotal) if inner.ntotal else np.zeros((0, master.d), np.float32)
    return np.asarray(vecs, dtype=np.float32), ids


def build_ann(kind: str, vectors: np.ndarray, ids: np.ndarray, *, seed: int = 0) -> faiss.Index:
    """Build an ANN index of ``kind`` (not flat/auto) over ``vectors`` with external ``ids``."""
    n, d = vectors.shape
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = EF_SEARCH
        index = faiss.IndexIDMap2(hnsw)
        index.add_with_ids(vectors, ids)
        return index
    if kind not in ("ivfsq8", "ivfpq"):
        raise ValueError(f"no ANN index for kind {kind!r}")
    nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), n // 39 if n >= 39 else 1))
    codec = "SQ8" if kind == "ivfsq8" else f"PQ{max(1, d // 8)}"
    ivf = faiss.index_factory(d, f"IVF{nlist},{codec}", faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    train = vectors[rng.choice(n, size=min(n, max(256 * nlist // 4, 40 * nlist, 10_000)), replace=False)]
    ivf.train(train)
    ivf.add_with_ids(vectors, ids)
    faiss.extract_index_ivf(ivf).nprobe = NPROBE
    return ivf


def prepare_for_search(index: faiss.Index) -> faiss.Index:
    """Set search-time parameters that FAISS does not persist."""
    with contextlib.suppress(RuntimeError):
        faiss.extract_index_ivf(index).nprobe = NPROBE
    inner = faiss.downcast_index(index.index) if hasattr(index, "id_map") else index  # type: ignore[attr-defined]
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = EF_SEARCH
    return index


def filtered_params(index: faiss.Index, allowed: np.ndarray) -> faiss.SearchParameters:
    """Search parameters restricting ``index`` to the ``allowed`` ids (IVF needs its own kind)."""
    sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
    return faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nprobe)  # type: ignore[call-arg]
