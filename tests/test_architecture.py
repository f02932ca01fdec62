"""The package layout: every module imports, imports only point down the pipeline, no cycles.

The contracts live in pyproject.toml ([tool.importlinter]) and are checked by import-linter on the
real import graph (every import statement, also those inside functions and TYPE_CHECKING blocks).
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys

import pytest

import rag
from tests.conftest import REPO


def test_every_module_imports():
    names = [m.name for m in pkgutil.walk_packages(rag.__path__, "rag.") if not m.name.endswith("__main__")]
    assert len(names) > 60, names
    for name in names:
        importlib.import_module(name)


def test_public_api_resolves_by_stage():
    assert rag.__all__ == sorted(rag.__all__)
    for name in rag.__all__:
        assert getattr(rag, name) is not None, name
    with pytest.raises(AttributeError):
        rag.no_such_name  # noqa: B018


def test_import_contracts_hold():
    """Layers (cli > bench|ui|evaluate > pipeline > answer > retrieve|ingest > store > models|text > base),
    independent store backends, no FAISS on the answer side, and no cycle between sibling modules."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed: pip install -e '.[dev]'")
    proc = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_a_cycle_would_be_caught(tmp_path):
    """The checker itself: a package whose two modules import each other breaks the acyclic contract."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed: pip install -e '.[dev]'")
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc import b\n")
    (pkg / "b.py").write_text("from cyc import a\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = cyc\n\n[importlinter:contract:1]\nname = acyclic\n"
        "type = acyclic_siblings\nancestors = cyc\n"
    )
    proc = subprocess.run(
        [exe, "--no-cache", "--config", ".importlinter"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "BROKEN" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("rag.answer.verify", ("faiss", "pymilvus", "rag.store.faiss", "torch")),
        ("rag.retrieve.search", ("faiss", "pymilvus", "rag.store.faiss.reader")),
        ("rag.store", ("faiss", "pymilvus")),
        ("rag", ("faiss", "torch", "gradio", "rag.answer")),
    ],
)
def test_importing_a_stage_loads_no_backend(module, absent):
    code = f"import sys, {module}; print(sorted(m for m in {list(absent)!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
