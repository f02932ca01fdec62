"""Distributed embedding with Ray Data: ingest's embedding step runs on a Ray cluster's workers.

Only the embedding is distributed. Reading, validation, content hashes, chunking, vector reuse
and the atomic write of a new index generation stay in the driver, in
:func:`rag.ingest.pipeline.ingest_articles`, exactly as on the local path: :class:`RayEncoder` is
just another :class:`rag.types.Encoder`. Its ``encode_documents`` splits the texts into
groups, builds a Ray Data dataset with one row per group, and maps it through a pool of actors
(``ray_workers`` of them, each with ``ray_cpus_per_worker`` CPUs and ``ray_gpus_per_worker``
GPUs) that load the same sentence-transformers model once each; the vectors come back to the
driver in input order. Model id, formatting and token counting come from the driver's own
(local) encoder, so chunk boundaries are identical.

Every worker must be able to import ``rag`` and load the model by the same name/path as the
driver (a registry model under the same ``models_dir``, or the same folder); a worker whose
weights hash differs from the driver's stops the ingest. A local instance (address ``local``)
shares the driver's machine, so this holds there.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ModelMissingError, NewsragError
from rag.types import Encoder, ProgressCallback

RAY_MISSING = "Ray is not installed: pip install 'newsrag[scale]'"
LOCAL = "local"
# Object store of a local instance (vectors and texts pass through it; it spills to disk beyond).
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20


def require_ray() -> None:
    """Raise the one-line error when Ray (Ray Data) is not importable."""
    if importlib.util.find_spec("ray") is None:
        raise NewsragError(RAY_MISSING)
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise NewsragError(f"{RAY_MISSING} ({exc})") from exc


def check_ray(cli_address: str | None, settings: Settings) -> None:
    """Fail early: Ray missing while configured, or ``--ray`` having swallowed a path as its address."""
    if cli_address and cli_address not in (LOCAL, "auto") and "://" not in cli_address and Path(cli_address).exists():
        raise NewsragError(
            f"--ray took {cli_address!r} as a cluster address: put --ray after the paths, or write --ray=ADDRESS"
        )
    if settings.ray_address:
        require_ray()


def start_ray(settings: Settings) -> bool:
    """Start (address ``local``) or connect to Ray; True when this call did it (so the caller shuts it down).

    An already initialised Ray in this process is used as it is.
    """
    require_ray()
    import ray

    if ray.is_initialized():
        return False
    address = settings.ray_address or LOCAL
    try:
        if address == LOCAL:
            cpus = max(1, int(np.ceil(settings.ray_workers * settings.ray_cpus_per_worker)))
            ray.init(
                address=LOCAL,
                num_cpus=cpus,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise NewsragError(f"cannot start or reach Ray at {address!r}: {first_line(exc)}") from exc
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return True


def first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def worker_error(exc: BaseException) -> str:
    """One line for an error Ray passes on: our own error raised in a worker if there is one, else the first line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    ours = re.findall(r"^\s*rag\.errors\.\w+: (.+)$", text, flags=re.MULTILINE)
    if ours:
        return str(ours[-1]).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def _worker_class(settings_data: dict[str, Any], weights_hash: str, threads: int, use_gpu: bool) -> type:
    """The Ray Data callable class; made here so that it carries its arguments (no constructor args)."""

    class EmbedWorker:
        def __init__(self) -> None:
            from rag.models.embedders import load_embedder

            settings = Settings(**settings_data).with_(threads=threads)
            self.encoder = load_embedder(settings)
            if self.encoder.weights_hash != weights_hash:
                raise ModelMissingError(
                    f"the worker's copy of {self.encoder.model_id!r} differs from the driver's "
                    f"(weights {self.encoder.weights_hash[:12]} != {weights_hash[:12]})"
                )
            if use_gpu:
                import torch

                if torch.cuda.is_available():
                    self.encoder.model.to("cuda")

        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            positions: list[np.ndarray] = []
            vectors: list[np.ndarray] = []
            for start, texts in zip(batch["start"], batch["texts"], strict=True):
                group = [str(t) for t in texts]
                positions.append(int(start) + np.arange(len(group), dtype=np.int64))
                vectors.append(self.encoder.encode_documents(group))
            return {"pos": np.concatenate(positions), "vec": np.concatenate(vectors)}

    return EmbedWorker


class RayEncoder:
    """A :class:`rag.types.Encoder` whose ``encode_documents`` runs on Ray workers.

    ``local`` is the driver's encoder (model id, formatting, token counts, weights hash). Ray is
    started or connected lazily, at the first texts to embed, so an ingest with nothing new never
    touches the cluster. Use it as a context manager: a Ray instance it started is shut down on exit.
    """

    def __init__(self, local: Encoder, settings: Settings) -> None:
        require_ray()
        self.local = local
        self.settings = settings
        self.dim = local.dim
        self.max_seq_length = local.max_seq_length
        self.weights_hash = local.weights_hash
        self.vectors = local.vectors
        # Texts per dataset row (= per worker call), the same grouping as ingest's local path, so each
        # model.encode call sees the same texts (same padding) and the vectors match the local ones.
        self.row_size = max(1, settings.embed_batch_size) * 4
        # Ingest hands all new texts over in one call (one dataset, one actor pool, models loaded once).
        self.group_size = 1 << 62
        self.workers = settings.ray_workers
        self.owns_ray = False
        self.started = False
        self.start_seconds = 0.0

    @property
    def model_id(self) -> str:
        return self.local.model_id

    def format_document(self, title: str, text: str) -> str:
        return self.local.format_document(title, text)

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def start(self) -> None:
        if not self.started:
            t0 = time.perf_counter()
            self.owns_ray = start_ray(self.settings)
            self.started = True
            self.start_seconds = time.perf_counter() - t0

    def close(self) -> None:
        if self.owns_ray:
            import ray

            ray.shutdown()
            self.owns_ray = False
        self.started = False

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self.local.encode_queries(queries)

    def encode_documents(self, formatted: Sequence[str], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Vectors of ``formatted`` from the actor pool; ``progress`` hears of each finished worker batch
        (so ingest's bar moves while the one big call runs instead of jumping from 0 to done)."""
        n = len(formatted)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.start()
        import ray
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        rows = [{"start": i, "texts": list(formatted[i : i + self.row_size])} for i in range(0, n, self.row_size)]
        s = self.settings
        worker = _worker_class(
            s.model_dump(),
            self.weights_hash,
            threads=s.threads or max(1, int(s.ray_cpus_per_worker)),
            use_gpu=s.ray_gpus_per_worker > 0,
        )
        ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            worker,
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(rows))),
            num_cpus=s.ray_cpus_per_worker,
            num_gpus=s.ray_gpus_per_worker,
        )
        out = np.zeros((n, self.dim), dtype=np.float32)
        seen = np.zeros(n, dtype=bool)
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                pos = np.asarray(batch["pos"], dtype=np.int64)
                out[pos] = np.asarray(batch["vec"], dtype=np.float32)
                seen[pos] = True
                if progress is not None:
                    progress(len(pos))
        except NewsragError:
            raise
        except Exception as exc:  # Ray wraps worker errors (RayTaskError, ActorDiedError, ...)
            raise NewsragError(f"Ray embedding failed: {worker_error(exc)}") from exc
        if not seen.all():
            raise NewsragError(f"Ray embedding returned {int(seen.sum())} of {n} vectors")
        return out


def ray_encoder(local: Encoder, settings: Settings) -> AbstractContextManager[Encoder]:
    """``local`` itself when no Ray address is configured, else a :class:`RayEncoder` around it.

    Both are context managers (use ``with``), so callers need no Ray-specific code.
    """
    if not settings.ray_address:
        return nullcontext(local)
    return RayEncoder(local, settings)
