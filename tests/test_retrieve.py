import pytest
from qa.retrieve import SIGNALS, reciprocal_rank_fusion


def test_reciprocal_rank_fusion_adds_reciprocal_ranks():
    fused = reciprocal_rank_fusion({"dense": [3, 1, 2], "lexical": [1, 4]}, k=60)
    assert [r for r, _ in fused] == [1, 3, 4, 2]  # 1: 1/62 + 1/61; 3: 1/61; 4: 1/62; 2: 1/63
    scores = dict(fused)
    assert abs(scores[1] - (1 / 62 + 1 / 61)) < 1e-12
    assert abs(scores[4] - 1 / 62) < 1e-12


def test_candidates_are_the_sentences_of_the_best_chunks_with_their_signals(assistant):
    r = assistant.retrieve("How many registered customers does DiDi serve?")
    assert [e.n for e in r.evidence] == list(range(1, len(r.evidence) + 1))
    docs = assistant.loaded_index().data.documents
    top = {h.chunk.chunk_id for h in r.hits[: assistant.settings.retrieval.top_chunks]}
    for e in r.evidence:
        assert docs[e.doc_id].text[e.char_start : e.char_end] == e.text
        assert e.chunk_id in top
        assert e.text != docs[e.doc_id].title  # a headline is never evidence
    assert len(r.signals) == len(r.evidence) and all(len(s) == len(SIGNALS) for s in r.signals)
    assert r.hits[0].rank == 1


def test_the_answer_keeps_only_the_best_ranked_evidence(assistant, fake_llm):
    answer = assistant.ask("Wie viele registrierte Kunden hat DiDi?")
    assert 0 < len(answer.evidence) <= assistant.settings.retrieval.max_evidence
    scores = [e.score for e in answer.evidence]
    assert scores == sorted(scores, reverse=True) and [e.n for e in answer.evidence] == list(
        range(1, len(scores) + 1))


def test_lexical_search_finds_numbers_and_names(assistant):
    index = assistant.loaded_index()
    rows = [row for row, _ in index.lexical.search("450 Millionen Kunden", 3)]
    assert "450 Millionen registrierte Kunden" in index.data.chunks[rows[0]].text


def test_a_question_the_article_asks_is_never_evidence(settings, embedder, fake_llm, tmp_path):
    from qa.assistant import Assistant

    corpus = tmp_path / "interviews"
    corpus.mkdir()
    (corpus / "interview.md").write_text(
        "Interview mit der Chefin\n\nWann soll die Fusion der Radverleiher abgeschlossen sein?\n\n"
        "Im Herbst soll die Fusion der Radverleiher abgeschlossen sein, sagt die Chefin.\n", encoding="utf-8")
    local = settings.model_copy(update={"paths": settings.paths.model_copy(
        update={"corpus": corpus, "data": tmp_path / "data"})})
    assistant = Assistant(local, embedder=embedder, llm=fake_llm)
    assistant.index()
    r = assistant.retrieve("Wann wird die Fusion der Radverleiher abgeschlossen sein?")
    assert [e.text for e in r.evidence] == ["Im Herbst soll die Fusion der Radverleiher abgeschlossen sein, sagt die "
                                            "Chefin."]


@pytest.mark.parametrize("sentence, asked", [
    ("Wann soll die Fusion abgeschlossen sein?", True),
    ("„Wann soll die Fusion abgeschlossen sein?“", True),
    ('He asked: "Why now?"', True),
    ("“Where will we go?” she asked, and nobody knew.", False),
    ("The merger closed in October.", False),
])
def test_what_counts_as_a_question_the_article_asks(sentence, asked):
    from qa.retrieve import _ASKED

    assert bool(_ASKED.search(sentence)) is asked
