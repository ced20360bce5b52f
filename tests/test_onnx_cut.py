"""Cutting the word-embedding table out of an exported graph leaves a graph that gives the same outputs."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def tiny_export(path):
    """A graph shaped like the exported encoder's start: ids → Gather(table) → + position rows, masked."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    table = rng.standard_normal((50, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["words.weight", "input_ids"], ["gathered"]),
        helper.make_node("Add", ["gathered", "bias"], ["shifted"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axes"], ["mask3"]),
        helper.make_node("Mul", ["shifted", "mask3"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", 4])],
        [
            numpy_helper.from_array(table, "words.weight"),
            numpy_helper.from_array(bias, "bias"),
            numpy_helper.from_array(np.array([2], np.int64), "axes"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    return table


def test_the_cut_graph_with_rows_looked_up_gives_the_same_outputs(tmp_path):
    from index.onnx_embed import EMBEDS, cut_words, words_path

    whole, body = tmp_path / "f.onnx", tmp_path / "f.body.onnx"
    table = tiny_export(whole)
    cut_words(whole, body)

    words = np.load(words_path(body), mmap_mode="r")
    assert words_path(body).name == "f.words.npy" and np.array_equal(words, table)
    ids = np.array([[3, 7, 49, 1], [0, 2, 1, 1]], np.int64)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], np.int64)
    before = ort.InferenceSession(str(whole)).run(None, {"input_ids": ids, "attention_mask": mask})[0]
    session = ort.InferenceSession(str(body))
    assert EMBEDS in {i.name for i in session.get_inputs()}
    assert all(len(t.dims) != 2 for t in onnx.load(str(body)).graph.initializer)  # the table is gone
    feed = {"input_ids": ids, "attention_mask": mask, EMBEDS: np.ascontiguousarray(words[ids])}
    after = session.run(None, {k: v for k, v in feed.items() if k in {i.name for i in session.get_inputs()}})[0]
    assert np.array_equal(before, after)
