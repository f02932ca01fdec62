"""The embedding model as ONNX, run by onnxruntime: an fp32 copy and a dynamically quantised int8 one.

Why not sentence-transformers' own ONNX backend: it needs optimum-onnx, which pins transformers
4.x, while newsrag runs on transformers 5. So the export here is PyTorch's own exporter
(``torch.onnx.export(dynamo=True)``, onnxscript) of the whole sentence-transformers module
(transformer, pooling, dense projections) as one graph from token ids to the sentence vector, and
int8 is onnxruntime's ``quantize_dynamic`` of the matrix multiplications with constant weights
(int8 weights per output channel, activations quantised on the fly), with ``reduce_range``: 7-bit
weights, so that x86 CPUs without VNNI (AVX2 only), whose u8×s8 multiply-add saturates at 16
bits, compute the same vectors as VNNI ones. Without it, on an AVX2 EPYC the int8 vectors had a
mean cosine of 0.45 to the fp32 ones on XQuAD-de paragraphs and dense MRR@10 fell from 0.964 to
0.405; with it, 0.98. An export records its int8 recipe (``INT8_RECIPE``); an older int8 file
counts as stale. The model's
tokenizer is saved beside the graphs and used exactly as sentence-transformers uses it (padding to
the longest text of a batch, truncation at the model's maximum length).

fp32 ONNX reproduces the torch vectors; int8 does not exactly, so an int8 index is marked as such
(``ModelInfo.vectors``) and never mixed with one built from the exact vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.errors import ModelMissingError

OnnxPrecision = Literal["fp32", "int8"]
FILES: dict[OnnxPrecision, str] = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
META = "newsrag-onnx.json"
INT8_RECIPE = "dynamic-qint8-per-channel-reduce-range"
OUTPUT = "sentence_vector"  # not "embedding": that name collides with a node of the exported graph


def export(model_path: Path, target: Path, source_hash: str, log: Callable[[str], None] = print) -> Path:
    """Export the sentence-transformers model at ``model_path`` to fp32 and int8 ONNX in ``target``.

    :param source_hash: the weights' identity, recorded so a stale export is refused after an update.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it)
        import onnxscript  # noqa: F401
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise ModelMissingError(
            f"the ONNX export needs onnxruntime, onnx and onnxscript: pip install -e '.[onnx]' ({exc})"
        ) from exc
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    st.eval()

    class _Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.st({"input_ids": input_ids, "attention_mask": attention_mask})[
                "sentence_embedding"
            ]
            return out

    target.mkdir(parents=True, exist_ok=True)
    fp32 = target / FILES["fp32"]
    sample = st.tokenizer(
        ["a first example sentence", "and a second, a little longer one"], padding=True, return_tensors="pt"
    )
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=2, max=int(st.max_seq_length or 512))
    with torch.no_grad():
        torch.onnx.export(
            _Graph(),
            (sample["input_ids"], sample["attention_mask"]),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=[OUTPUT],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            dynamo=True,
            external_data=False,
        )
    log(f"fp32 ONNX written to {fp32}")
    int8 = target / FILES["int8"]
    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={"MatMulConstBOnly": True},
    )
    log(f"int8 ONNX written to {int8}")
    st.tokenizer.save_pretrained(str(target))
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    dim = getter()
    meta = {
        "source_hash": source_hash,
        "dim": int(dim or 0),
        "max_seq_length": int(st.max_seq_length or 512),
        "int8_recipe": INT8_RECIPE,
    }
    (target / META).write_text(json.dumps(meta, indent=2) + "\n")
    return target


class OnnxSentenceModel:
    """An exported model run by onnxruntime, with the small part of sentence-transformers' interface
    that :class:`rag.models.embedders.SentenceEmbedder` uses (``encode``, ``tokenizer``,
    ``max_seq_length``, ``get_embedding_dimension``)."""

    def __init__(self, folder: Path, source_hash: str, precision: OnnxPrecision, threads: int = 0) -> None:
        file = folder / FILES[precision]
        if not file.is_file() or not (folder / META).is_file():
            raise ModelMissingError(f"no ONNX export at {file}: run `rag models export-onnx`")
        meta = json.loads((folder / META).read_text())
        if meta.get("source_hash") != source_hash:
            raise ModelMissingError(
                f"the ONNX export in {folder} is of other weights: run `rag models export-onnx` again"
            )
        if precision == "int8" and meta.get("int8_recipe") != INT8_RECIPE:
            raise ModelMissingError(
                f"the int8 ONNX in {folder} was quantised without reduced range (wrong vectors on CPUs "
                "without VNNI): run `rag models export-onnx` again"
            )
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelMissingError("the ONNX backends need onnxruntime: pip install -e '.[onnx]'") from exc
        from transformers import AutoTokenizer

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        self.max_seq_length: int = int(meta["max_seq_length"])
        self._dim = int(meta["dim"])

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str], batch_size: int = 16, **_: Any) -> np.ndarray:
        """Vectors of ``texts`` (not normalised), batches of similar length."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        for i in range(0, len(order), max(1, batch_size)):
            idx = order[i : i + batch_size]
            enc = self.tokenizer(
                [texts[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feeds = {
                "input_ids": enc["input_ids"].astype(np.int64),
                "attention_mask": enc["attention_mask"].astype(np.int64),
            }
            out[idx] = self.session.run([OUTPUT], feeds)[0]
        return out
