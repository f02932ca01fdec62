"""The `rag` command on the Milvus store, chosen by environment variables only."""

import json
import os
import subprocess
import sys

import pytest

from rag.config import Settings
from rag.store import read_manifest, store_exists
from tests.conftest import _has_milvus_lite

milvus = pytest.mark.skipif(not _has_milvus_lite(), reason="needs pymilvus and milvus-lite (pip install '.[scale]')")


@milvus
def test_cli_on_milvus_via_env(settings, tmp_path):
    env = dict(
        os.environ,
        NEWSRAG_INDEXES_DIR=str(tmp_path / "indexes"),
        NEWSRAG_INDEX="cli",
        NEWSRAG_EMBED_MODEL="all-minilm-l6-v2",
        NEWSRAG_STORE="milvus",
        COLUMNS="200",
    )
    folder = tmp_path / "in"
    folder.mkdir()
    for i, city in enumerate(["Wien", "Graz"]):
        (folder / f"{i}.txt").write_text(f"Nachricht aus {city}\nIn {city} regnete es am Montag.\n", encoding="utf-8")

    def rag(*args):
        return subprocess.run(
            [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert rag("ingest", str(folder)).returncode == 0
    assert (tmp_path / "indexes" / "cli" / "milvus.db").exists()
    st = json.loads(rag("stats", "--json").stdout)
    assert st["store"] == "milvus" and st["articles"] == 2
    found = json.loads(rag("search", "Regen in Graz", "--json", "-k", "1").stdout)
    assert found["passages"][0]["headline"] == "Nachricht aus Graz"
    proc = rag("delete", "--source", str(folder / "0.txt"))
    assert proc.returncode == 0 and "deleted 1 articles" in proc.stdout, proc.stderr
    s = Settings(indexes_dir=tmp_path / "indexes", index="cli", store="milvus")
    assert store_exists(s) and read_manifest(s).articles == 1
