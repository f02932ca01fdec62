"""Protocols shared by several stages, apart from the backends that implement them.

An :class:`Encoder` is what ingest, the stores' dense search, the rerankers, the evidence
generator and the verifier need from an embedding model. :class:`rag.models.embedders.SentenceEmbedder`
implements it in-process and :class:`rag.ingest.ray_encoder.RayEncoder` on a Ray cluster; a test may
pass any object with these members. Store protocols live in :mod:`rag.store.base`, the generator
seam in :mod:`rag.answer.generators`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

ProgressCallback = Callable[[int], None]
"""Called with the number of texts just finished (for progress bars)."""


class Encoder(Protocol):
    """An embedding model: L2-normalised float32 vectors for queries and formatted documents."""

    dim: int
    max_seq_length: int
    weights_hash: str
    vectors: str
    """"exact" or "int8": see :class:`rag.records.ModelInfo`."""
    group_size: int
    """How many texts a caller should hand to one :meth:`encode_documents` call: a local model
    wants groups of similar length, a remote pool that loads the model per call wants them all."""

    @property
    def model_id(self) -> str: ...

    def format_document(self, title: str, text: str) -> str:
        """The text the model embeds for a passage under ``title`` (its document prompt)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model itself sees for ``text`` (to keep chunks within its maximum length)."""
        ...

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, formatted: Sequence[str], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Vectors of already formatted documents, in input order; ``progress`` gets finished counts."""
        ...
