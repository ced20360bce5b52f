"""The same sentence-transformers model run by ONNX Runtime: about 2.5× faster per query on two cores, and
no torch import at answer time (seconds off a cold start). Vectors match the torch path to float precision,
so one index serves both (tests/test_onnx_embed.py).

The ONNX file is exported once from the model folder (`qa setup`) into the model cache, next to the folder
and named by its fingerprint, so the folder itself, and with it the index's embedder identity, is unchanged.
Mean pooling and normalisation are done here, as the folder's modules say; other poolings use torch.

The word-embedding table (250k rows, 384 MB of e5-small's 470) is cut out of the graph into a `.npy` file that
is memory-mapped: a query reads only its tokens' rows, instead of ONNX Runtime reading the whole table when a
new process loads the model (0.6 s against 0.2 s). The rows are looked up here, exactly as the graph's
`Gather` did, so the vectors are the same to the bit.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import folder_identity
from qa.core.errors import DependencyMissingError, ModelMissingError
from qa.core.records import EmbedderIdentity

EMBEDS = "inputs_embeds"


def onnx_path(identity: EmbedderIdentity, cache: Path) -> Path:
    """Where the export of the folder with this identity (`index.embed.folder_identity`) lives: the graph
    without its word-embedding table, which is `words_path` of it."""
    return cache / "onnx" / f"{identity.fingerprint}.body.onnx"


def words_path(body: Path) -> Path:
    return body.with_name(body.name.removesuffix(".body.onnx") + ".words.npy")


def whole_path(body: Path) -> Path:
    """Where an export with its table inside lives (made by `export`, or by versions before the cut)."""
    return body.with_name(body.name.removesuffix(".body.onnx") + ".onnx")


def supported(folder: Path) -> bool:
    """A folder with a fast tokenizer and mean pooling (e5, MiniLM and most sentence encoders)."""
    pooling = folder / "1_Pooling" / "config.json"
    if not (folder / "tokenizer.json").is_file() or not pooling.is_file():
        return False
    return bool(json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"))


def export(folder: Path, target: Path) -> Path:
    """Exports the folder's transformer to ONNX as `target` (the body) and its `words_path` (needs torch; once,
    about 15 s), atomically: the body is written last, and only it is looked for."""
    whole = whole_path(target)
    if not whole.is_file():
        _export_whole(folder, whole)
    cut_words(whole, target)
    whole.unlink()
    return target


def cut_words(whole: Path, body: Path) -> None:
    """Moves the word-embedding table of the exported graph `whole` into `words_path(body)`: its `Gather` on
    the token ids becomes the graph input `inputs_embeds`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(whole))
    graph = model.graph
    tables = {t.name: t for t in graph.initializer if len(t.dims) == 2}
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] in tables and n.input[1] == "input_ids")
    table = numpy_helper.to_array(tables[gather.input[0]])
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == gather.output[0]:
                node.input[i] = EMBEDS
    graph.node.remove(gather)
    graph.initializer.remove(tables[gather.input[0]])
    graph.input.append(helper.make_tensor_value_info(EMBEDS, TensorProto.FLOAT, ["batch", "tokens", table.shape[1]]))
    words = words_path(body)
    with open(words.with_suffix(".partial"), "wb") as f:
        np.save(f, np.ascontiguousarray(table, np.float32))
    os.replace(words.with_suffix(".partial"), words)
    tmp = body.with_suffix(".partial")
    onnx.save(model, str(tmp))
    os.replace(tmp, body)


def _export_whole(folder: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    bert: Any = model[0].auto_model
    bert.eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.tokenizer(
        ["query: a short example", "passage: another one, a little longer"], padding=True, return_tensors="pt"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "last_hidden_state": {0: "batch", 1: "tokens"},
    }
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing; the test compares the vectors
        torch.onnx.export(
            Hidden(bert),
            (sample["input_ids"], sample["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def folder_tokenizer(folder: Path):
    """The model folder's tokenizer.json, truncating to the model's longest input and without padding: how the
    embedder counts and cuts tokens."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise DependencyMissingError(f"tokenizers cannot be imported ({exc})") from None
    max_len = 512
    if (folder / "sentence_bert_config.json").is_file():
        max_len = int(json.loads((folder / "sentence_bert_config.json").read_text()).get("max_seq_length", 512))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_len)
    tokenizer.no_padding()
    return tokenizer


class OnnxEmbedder:
    def __init__(
        self,
        folder: Path,
        model_file: Path,
        batch_size: int = 16,
        threads: int = 0,
        identity: EmbedderIdentity | None = None,
    ):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DependencyMissingError(f"onnxruntime cannot be imported ({exc})") from None
        if not (model_file.is_file() and words_path(model_file).is_file()):
            raise ModelMissingError(f"no ONNX export of {folder} at {model_file}", hint="run `qa setup`")
        self.identity = identity or folder_identity(folder)
        self.dim = self.identity.dim
        self.batch_size = batch_size
        config = (
            json.loads((folder / "config_sentence_transformers.json").read_text())
            if (folder / "config_sentence_transformers.json").is_file()
            else {}
        )
        prompts = config.get("prompts") or {}
        self.query_prompt = prompts.get("query", "")
        self.document_prompt = prompts.get("document", prompts.get("passage", ""))
        self.tokenizer = folder_tokenizer(folder)
        self.pad_id = next((i for i in (self.tokenizer.token_to_id(t) for t in ("<pad>", "[PAD]")) if i is not None), 0)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads would keep both cores busy after a query, slowing the model that runs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.words = np.load(words_path(model_file), mmap_mode="r")
        self._inputs = {i.name for i in self.session.get_inputs()}

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")  # similar lengths pad less
        result = np.empty((len(texts), self.dim), np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for j, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[j, :n] = encodings[i].ids
                mask[j, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, EMBEDS: np.ascontiguousarray(self.words[ids])}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            result[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return result

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prompt + t for t in texts])

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.document_prompt + t for t in texts])
