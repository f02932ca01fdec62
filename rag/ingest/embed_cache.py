"""An optional persistent cache of document vectors, keyed by model weights and embed-text hash.

Re-embedding is the slow part of ingest on a CPU. Within one index, unchanged chunks already
reuse their stored vectors; this cache extends that across indexes and rebuilds (evaluation
runs, CI, a deleted and re-created index). It is off unless ``NEWSRAG_EMBED_CACHE`` names a file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, path: Path, model: str, weights_hash: str, dim: int, vectors: str = "exact") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=60)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, text_hash TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, text_hash))"
        )
        # exact vectors (torch, ONNX fp32) share one key; int8 ones are kept apart
        self.key = f"{model}@{weights_hash[:16]}/{dim}" + ("" if vectors == "exact" else f"/{vectors}")
        self.dim = dim

    def get_many(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        hs = list(hashes)
        for i in range(0, len(hs), 500):
            part = hs[i : i + 500]
            marks = ",".join("?" * len(part))
            for h, blob in self.db.execute(
                f"SELECT text_hash, vector FROM vectors WHERE model = ? AND text_hash IN ({marks})", [self.key, *part]
            ):
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == self.dim:
                    out[h] = vec
        return out

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
            [(self.key, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items],
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()
