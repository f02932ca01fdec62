"""Distributed embedding with Ray: a real local Ray instance, the real small model, real FAISS.

A Ray ingest must equal a local ingest (same chunks, same vectors within tolerance, same report),
be idempotent, and report bad inputs exactly as the local path does.
"""

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from rag.errors import NewsragError
from rag.ingest.pipeline import ingest_paths
from rag.ingest.ray_encoder import RAY_MISSING, RayEncoder, check_ray
from rag.store.faiss.reader import NewsIndex
from tests.conftest import SEED, gnad_slice, make_bad_batch, needs_shared

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'newsrag[scale]')")

INLINE = {
    "wahl.txt": "Neue Koalition in Wien\nNach der Wahl einigten sich die Parteien am Dienstag auf ein "
    "gemeinsames Programm. Der neue Bürgermeister will den Wohnbau ausbauen und die Öffis stärken. "
    "Die Opposition kritisierte die Pläne als zu teuer.\n",
    "hochwasser.txt": "Hochwasser in Niederösterreich\nDie Feuerwehr war die ganze Nacht im Einsatz. "
    "Mehrere Orte entlang der Donau wurden evakuiert, Straßen blieben gesperrt. "
    + "Der Pegel stieg bis zum Morgen weiter an, und die Behörden riefen den Katastrophenfall aus. "
    * 30,
    "budget.txt": "Budget für 2025 beschlossen\nDer Nationalrat hat das Budget mit den Stimmen der Regierung "
    "beschlossen. Der Finanzminister sprach von einem soliden Haushalt, die Opposition von Schulden.\n",
}


@pytest.fixture(scope="module")
def ray_cluster():
    """One small local Ray instance for the module (2 CPUs, small object store, no dashboard)."""
    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=100 * 2**20,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _snapshot(settings):
    with NewsIndex.open(settings.index_path) as idx:
        arts = dict(idx.db.execute("SELECT id, content_hash FROM articles"))
        rows = idx.db.execute('SELECT id, article_id, start, "end", text, text_hash FROM chunks ORDER BY id').fetchall()
        vecs = np.stack([idx.vectors.reconstruct(int(r[0])) for r in rows]) if rows else np.zeros((0, 0))
        return arts, rows, vecs, idx.stats()


REPORT_FIELDS = [
    "articles_seen",
    "added",
    "updated",
    "unchanged",
    "duplicates",
    "chunks_added",
    "chunks_embedded",
    "chunks_reused",
    "total_articles",
    "total_chunks",
    "generation",
]


def _assert_same_ingest(paths, settings, small_embedder, workers=2):
    local_s = settings.with_(index="local")
    ray_s = settings.with_(index="ray", ray_address="local", ray_workers=workers)
    local = ingest_paths(paths, local_s, small_embedder)
    with RayEncoder(small_embedder, ray_s) as enc:
        remote = ingest_paths(paths, ray_s, enc)
        assert not enc.owns_ray  # the module's instance was used, not a new one
    for f in REPORT_FIELDS:
        assert getattr(remote, f) == getattr(local, f), f
    assert [str(p) for p in remote.problems] == [str(p) for p in local.problems]
    a_arts, a_rows, a_vecs, a_stats = _snapshot(local_s)
    b_arts, b_rows, b_vecs, b_stats = _snapshot(ray_s)
    assert a_arts == b_arts and a_rows == b_rows  # same articles, chunk ids, offsets, texts, hashes
    assert a_vecs.shape == b_vecs.shape and len(a_rows) > 0
    cos = (a_vecs * b_vecs).sum(axis=1)
    assert np.all(1.0 - cos < 1e-4), float((1.0 - cos).max())
    for key in ("generation", "articles", "chunks", "languages", "tokens", "embed_model", "embed_weights_hash", "dim"):
        assert a_stats[key] == b_stats[key], key
    return local, remote, ray_s


def test_ray_ingest_equals_local_with_bad_inputs_then_is_idempotent(ray_cluster, settings, small_embedder, tmp_path):
    folder = tmp_path / "in"
    make_bad_batch(folder)
    for name, text in INLINE.items():
        (folder / name).write_text(text, encoding="utf-8")
    missing = tmp_path / "missing.txt"
    _, remote, ray_s = _assert_same_ingest([folder, missing], settings, small_embedder)
    assert remote.added == 8 and remote.chunks_embedded > 8
    msgs = [str(p) for p in remote.errors]
    assert len(msgs) == 8 and all("\n" not in m for m in msgs)
    assert any(m.endswith("missing.txt: no such file or directory") for m in msgs)

    before = _snapshot(ray_s)
    with RayEncoder(small_embedder, ray_s) as enc:
        again = ingest_paths([folder, missing], ray_s, enc)
        assert not enc.started  # nothing new to embed: Ray is not even touched
    assert again.unchanged == 8 and again.added == again.updated == again.chunks_embedded == 0
    after = _snapshot(ray_s)
    assert after[0] == before[0] and after[1] == before[1] and np.array_equal(after[2], before[2])
    assert after[3]["generation"] == before[3]["generation"]


@needs_shared
def test_ray_ingest_equals_local_seed_and_gnad(ray_cluster, settings, small_embedder, tmp_path):
    csv = gnad_slice(tmp_path / "gnad.csv", 12)
    _, remote, _ = _assert_same_ingest([SEED, csv], settings, small_embedder, workers=1)
    assert remote.added == 13 and not remote.errors


def test_ray_changed_article_reuses_vectors(ray_cluster, settings, small_embedder, tmp_path):
    src = tmp_path / "a.txt"
    body = INLINE["hochwasser.txt"]
    src.write_text(body, encoding="utf-8")
    s = settings.with_(ray_address="local", ray_workers=1)
    with RayEncoder(small_embedder, s) as enc:
        first = ingest_paths([src], s, enc)
        src.write_text(body + "Am Abend gab die Landesregierung Entwarnung.\n", encoding="utf-8")
        second = ingest_paths([src], s, enc)
    assert first.added == 1 and second.updated == 1
    assert second.chunks_reused >= 1 and second.chunks_embedded >= 1  # only the changed chunk(s) embedded


class RecordingProgress:
    """Records what ingest reports, with the same two calls rich's Progress offers."""

    def __init__(self):
        self.tasks, self.steps = {}, {}

    def add_task(self, description, total=None, **_):
        self.tasks[description] = total
        self.steps[description] = []
        return description

    def advance(self, task_id, advance=1):
        self.steps[task_id].append(advance)


def test_ray_ingest_progress_moves_per_worker_batch(ray_cluster, settings, small_embedder, tmp_path):
    src = tmp_path / "a.txt"
    lines = [f"Im Bezirk {i} wurden {7 * i + 3} neue Wohnungen an Familien übergeben." for i in range(1, 120)]
    src.write_text("Wohnbau in Wien\n" + " ".join(lines) + "\n", encoding="utf-8")
    s = settings.with_(ray_address="local", ray_workers=1, embed_batch_size=1)  # 4 texts per worker batch
    progress = RecordingProgress()
    with RayEncoder(small_embedder, s) as enc:
        rep = ingest_paths([src], s, enc, progress=progress)
        assert not hasattr(enc, "on_vectors")  # progress is an argument of the call, no hook is patched in
    steps = progress.steps["embedding"]
    assert progress.tasks["embedding"] == rep.chunks_embedded == sum(steps)
    assert len(steps) == -(-rep.chunks_embedded // 4) and len(steps) > 1, steps


def test_worker_with_other_weights_stops_the_ingest(ray_cluster, settings, small_embedder, tmp_path):
    """A worker whose model differs from the driver's fails the ingest with one line; no index is written."""
    src = tmp_path / "a.txt"
    src.write_text(INLINE["budget.txt"], encoding="utf-8")
    s = settings.with_(ray_address="local", ray_workers=1)
    with RayEncoder(small_embedder, s) as enc:
        enc.weights_hash = "0" * 64  # as if the driver had other weights than the workers
        with pytest.raises(NewsragError, match=r"Ray embedding failed: .*differs from the driver's") as exc:
            ingest_paths([src], s, enc)
    assert "\n" not in str(exc.value)
    assert not NewsIndex.exists(s.index_path)


def test_check_ray_errors_are_one_line(settings, monkeypatch, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(NewsragError, match="put --ray after the paths"):
        check_ray(str(f), settings)
    check_ray(None, settings)  # no Ray configured: nothing to check
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(NewsragError) as exc:
        check_ray("local", settings.with_(ray_address="local"))
    assert str(exc.value) == RAY_MISSING == "Ray is not installed: pip install 'newsrag[scale]'"


def _env(tmp_path):
    e = dict(os.environ)
    e.update(
        NEWSRAG_INDEXES_DIR=str(tmp_path / "indexes"),
        NEWSRAG_INDEX="cli",
        NEWSRAG_EMBED_MODEL="all-minilm-l6-v2",
        COLUMNS="200",
    )
    e.pop("RAY_ADDRESS", None)
    return e


def test_cli_ingest_ray_local_instance(tmp_path):
    """`rag ingest FILE --ray` starts its own local Ray instance, embeds there, and shuts it down."""
    f = tmp_path / "wahl.txt"
    f.write_text(INLINE["wahl.txt"], encoding="utf-8")
    env = _env(tmp_path)
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(f), "--json", "--ray", "--ray-workers", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)
    assert rep["added"] == 1 and rep["chunks_embedded"] >= 1 and rep["problems"] == []
    # the same file again, through the local path: nothing new, same index
    proc = subprocess.run(cmd[:-3], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and json.loads(proc.stdout)["unchanged"] == 1


def test_cli_ray_optional_value():
    from rag.cli import fill_optional_values

    here = str(SEED.parent if SEED.is_file() else os.getcwd())  # an existing path
    assert fill_optional_values(["ingest", "a.csv", "--ray"]) == ["ingest", "a.csv", "--ray=local"]
    assert fill_optional_values(["ingest", "--ray", "--json", "a"]) == ["ingest", "--ray=local", "--json", "a"]
    assert fill_optional_values(["ingest", "--ray", here]) == ["ingest", "--ray=local", here]
    assert fill_optional_values(["ingest", "x", "--ray", "auto"]) == ["ingest", "x", "--ray", "auto"]
    assert fill_optional_values(["ingest", "x", "--ray", "ray://h:10001"]) == ["ingest", "x", "--ray", "ray://h:10001"]
    assert fill_optional_values(["ingest", "x", "--ray=10.0.0.1:6379"]) == ["ingest", "x", "--ray=10.0.0.1:6379"]


def test_cli_ray_address_that_is_a_path_is_refused(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(INLINE["budget.txt"], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", f"--ray={f}", str(f)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "put --ray after the paths" in proc.stderr and "Traceback" not in proc.stderr
