"""The `rag` command as a user runs it: real subprocesses, real model, real index files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.store.faiss.reader import NewsIndex
from tests.conftest import SEED, gnad_slice, make_bad_batch, needs_shared


def run_rag(args, env, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=timeout, **kw
    )


@pytest.fixture()
def env(tmp_path):
    e = dict(os.environ)
    e.update(
        NEWSRAG_INDEXES_DIR=str(tmp_path / "indexes"),
        NEWSRAG_INDEX="cli",
        NEWSRAG_EMBED_MODEL="all-minilm-l6-v2",
        COLUMNS="200",
    )
    return e


def test_bad_inputs_one_line_each_rest_ingested(env, tmp_path):
    files = make_bad_batch(tmp_path / "in")
    proc = run_rag(["ingest", str(tmp_path / "in"), str(tmp_path / "missing.txt")], env)
    assert proc.returncode == 3, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("skipped:", "warning:"))]
    assert len(lines) == 9, proc.stderr
    for key in ("empty", "binary", "latin1", "huge"):
        assert sum(str(files[key]) in ln for ln in lines) == 1
    assert sum(str(files["csv"]) in ln for ln in lines) == 2
    assert sum(str(files["jsonl"]) in ln for ln in lines) == 2
    assert any("missing.txt: no such file or directory" in ln for ln in lines)
    assert "5 articles ingested (5 new" in proc.stdout
    st = json.loads(run_rag(["stats", "--json"], env).stdout)
    assert st["articles"] == 5


def test_missing_model_names_the_fetch_command(env, tmp_path):
    env = dict(env, NEWSRAG_EMBED_MODEL="embeddinggemma-300m", NEWSRAG_MODELS_DIR=str(tmp_path / "nomodels"))
    story = tmp_path / "s.txt"
    story.write_text("T\nText.\n", encoding="utf-8")
    proc = run_rag(["ingest", str(story)], env)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert "rag models fetch" in proc.stderr and "Traceback" not in proc.stderr


def _state(index_path: Path):
    with NewsIndex.open(index_path) as idx:
        idx.verify()
        return (
            idx.manifest.generation,
            idx.manifest.articles,
            idx.manifest.chunks,
            sorted(r[0] for r in idx.db.execute("SELECT id FROM articles")),
        )


@needs_shared
def test_kill_9_mid_ingest_leaves_previous_index_intact(env, tmp_path):
    index_path = Path(env["NEWSRAG_INDEXES_DIR"]) / "cli"
    assert run_rag(["ingest", str(SEED)], env).returncode == 0
    before = _state(index_path)
    csv = gnad_slice(tmp_path / "gnad.csv", 150)
    # kill at several points: as soon as the writer starts, while embedding, and later
    for delay in (0.0, 1.5, 4.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "ingest", str(csv)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 120
        while time.time() < deadline and not list(index_path.glob("gen-*.tmp")) and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed"
        assert _state(index_path) == before
    done = run_rag(["ingest", str(csv)], env)
    assert done.returncode == 0, done.stderr
    gen, arts, _, _ = _state(index_path)
    assert arts == before[1] + 150 and gen == before[0] + 1
    assert [p.name for p in index_path.glob("gen-*")] == [f"gen-{gen:06d}"]


def test_delete_and_stats_commands(env, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("Eins\nErster Text aus Wien über den Gemeinderat.\n", encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("Zwei\nZweiter Text aus Graz über die Brücke.\n", encoding="utf-8")
    assert run_rag(["ingest", str(a), str(b), "--json"], env).returncode == 0
    proc = run_rag(["delete", "--source", str(a)], env)
    assert proc.returncode == 0 and "deleted 1 articles" in proc.stdout
    st = json.loads(run_rag(["stats", "--json"], env).stdout)
    assert st["articles"] == 1 and st["outlets"] == {"?": 1}
    nothing = run_rag(["delete", "--id", "nope"], env)
    assert nothing.returncode == 3
    bad = run_rag(["ingest", str(a), "--format", "xml"], env)
    assert bad.returncode == 1 and "unknown format" in bad.stderr


def test_search_and_ask_json(env, tmp_path):
    a = tmp_path / "a.txt"
    a.write_text(
        "Bridge to close\nOfficials said the Elm Street bridge will close for repairs on Monday. "
        "The work will cost 4,500,000 dollars.\n",
        encoding="utf-8",
    )
    assert run_rag(["ingest", str(a)], env).returncode == 0
    s = run_rag(["search", "bridge repairs cost", "--json", "--k", "2"], env)
    data = json.loads(s.stdout)
    assert data["passages"][0]["headline"] == "Bridge to close" and data["passages"][0]["ranks"]
    q = run_rag(["ask", "How much will the bridge repairs cost?", "--generator", "evidence", "--json"], env)
    assert q.returncode == 0, q.stderr
    obj = json.loads(q.stdout)  # exactly one JSON object on stdout
    assert obj["generator"] == "evidence" and not obj["refused"] and obj["citations"][0]["n"] == 1
    assert "4,500,000" in obj["answer"]
    bad = run_rag(["search", "x", "--since", "yesterday"], env)
    assert bad.returncode == 1 and "expected a date" in bad.stderr
