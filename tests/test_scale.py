"""The scale benchmark's generated archive and its section of BENCHMARKS.md."""

import re

from eval import scale, xquad
from eval.bench.report import SCALE_BLOCK, write, write_scale
from index.formats import extract_bytes


def test_article_k_is_the_same_in_any_corpus_size(tmp_path):
    small = scale.generate(tmp_path / "a", 0, 6)
    more = scale.generate(tmp_path / "b", 4, 3)
    assert [p.name for p in more] == ["scale-000004.md", "scale-000005.md", "scale-000006.md"]
    for p in small[4:]:
        assert p.read_text(encoding="utf-8") == (tmp_path / "b" / p.name).read_text(encoding="utf-8")
    assert small[0].read_text(encoding="utf-8") != small[1].read_text(encoding="utf-8")


def test_no_generated_sentence_answers_an_xquad_question():
    import unicodedata

    from index.sentences import split_sentences

    answering = set()  # the sentence holding each answer, as eval/xquad.py's answer_sentence finds it
    for lang, articles in xquad.load_source(xquad.DATA).items():
        for article in articles:
            for p in article["paragraphs"]:
                spans = split_sentences(p["context"], lang)
                for qa in p["qas"]:
                    for a in qa["answers"]:
                        span = next(s for s in spans if s.start <= a["answer_start"] < s.end)
                        answering.add(unicodedata.normalize("NFKC", p["context"][span.start : span.end]))
    pool = scale.sentence_pool()
    assert set(pool) == set(xquad.LANGUAGES) and all(len(v) > 100 for v in pool.values())
    used = {s for sentences in pool.values() for s in sentences}
    assert not used & answering
    for k in range(40):
        text = scale.article(k)[1]
        assert not any(s in text for s in answering if len(s) > 40), k


def test_articles_carry_front_matter_the_ingester_reads(tmp_path):
    name, text = scale.article(3)
    extracted = extract_bytes(text.encode("utf-8"), tmp_path / name, 100_000)
    assert extracted.title and extracted.language in xquad.LANGUAGES
    assert extracted.source.outlet in scale.OUTLETS
    assert re.fullmatch(r"20(1[5-9]|2[0-5])-\d\d-\d\d", extracted.source.published)
    assert extracted.text.strip().startswith(extracted.title[:10])
    paragraphs = [p for p in extracted.text.split("\n\n") if p.strip()]
    assert 2 <= len(paragraphs) <= 6


def test_bench_and_bench_scale_each_rewrite_only_their_part(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    write(path, "# Benchmarks\n\nfirst run\n")
    block = f"{SCALE_BLOCK[0]}\n## At scale\n\n10,000 articles\n{SCALE_BLOCK[1]}"
    write_scale(path, block)
    assert path.read_text().count("## At scale") == 1 and "first run" in path.read_text()

    write(path, "# Benchmarks\n\nsecond run\n")  # make bench: its own text, the scale section kept
    text = path.read_text()
    assert "second run" in text and "first run" not in text and "10,000 articles" in text

    write_scale(path, block.replace("10,000", "100,000"))  # make bench-scale: the section replaced
    text = path.read_text()
    assert "100,000 articles" in text and "10,000 articles" not in text and "second run" in text
    assert text.count(SCALE_BLOCK[0]) == 1


def test_the_milvus_part_is_replaced_inside_the_scale_section(tmp_path):
    import pytest

    from eval.bench.report import MILVUS_PART, write_scale_part

    path = tmp_path / "BENCHMARKS.md"
    write(path, "# Benchmarks\n\nfirst run\n")
    part = f"{MILVUS_PART[0]}\nMilvus run 1\n{MILVUS_PART[1]}"
    with pytest.raises(ValueError, match="no scale section"):
        write_scale_part(path, part)
    write_scale(path, f"{SCALE_BLOCK[0]}\n## At scale\n\n10,000 articles\n{SCALE_BLOCK[1]}")
    write_scale_part(path, part)
    write_scale_part(path, part.replace("run 1", "run 2"))
    text = path.read_text()
    assert "Milvus run 2" in text and "Milvus run 1" not in text and "10,000 articles" in text
    assert text.index(SCALE_BLOCK[0]) < text.index("Milvus run 2") < text.index(SCALE_BLOCK[1])
    write(path, "# Benchmarks\n\nsecond run\n")
    assert "Milvus run 2" in path.read_text()
