"""Copies of one story (a wire story and its reprints) are found at index time, searched and cited once, and
named beside the passage; they never take the place of other evidence."""

from __future__ import annotations



from eval import fit_copies
from index.copies import copy_groups, same_passage
from index.ingest import Ingestor
from qa.assistant import Assistant
from qa.core.settings import IngestSettings, RetrievalSettings
from qa.present import answer_json, format_answer

from conftest import FakeLLM, KeywordEmbedder, ROOT

NEWS = ROOT / "eval" / "suites" / "news" / "corpus"
WIRE = ["baltic-business-daily-bike-sharing-merger.html", "nordpresse-velonord-alpenrad-merger.html",
        "rhein-courier-nordalp-mobility.html"]


def test_the_shipped_thresholds_are_the_fitted_ones():
    assert fit_copies.fit()[0] == IngestSettings().copy_threshold
    assert fit_copies.fit_passages()[0] == RetrievalSettings().passage_threshold


def test_the_wire_story_and_its_reprints_are_one_group_and_nothing_else_is():
    ingestor = Ingestor(IngestSettings())
    docs = {p.name: ingestor.read(p, p.name) for p in NEWS.iterdir()}
    groups = copy_groups(docs, IngestSettings().copy_threshold)
    assert groups == {name: WIRE[0] for name in WIRE}  # the earliest published, then the first by name


def test_an_edited_sentence_of_a_reprint_is_the_same_passage():
    threshold = RetrievalSettings().passage_threshold
    assert same_passage("Hamburg-based VeloNord and Munich's Alpenrad said on Tuesday they would merge.",
                        "Hamburg-based VeloNord and Munich's Alpenrad said Tuesday they would merge.", threshold)
    assert not same_passage("The merger is expected to close in the autumn.",
                            "Last year, VeloNord's riders took 9.2 million trips.", threshold)


QUESTION = "Who will lead the new company, Lena Brandt?"


def test_copies_are_searched_once_and_named_beside_the_passage_and_crowd_nothing_out(news, tmp_path):
    retrieval = news.retrieve(QUESTION)
    leads = [e for e in retrieval.evidence if "will lead the new company" in e.text]
    assert len(leads) == 1  # three outlets print it; it is one passage
    assert set(leads[0].also) | {leads[0].doc_id} == set(WIRE)
    settings = news.settings.model_copy(update={  # the same collection with copies not told apart
        "ingest": news.settings.ingest.model_copy(update={"copy_threshold": 0.99}),
        "paths": news.settings.paths.model_copy(update={"data": tmp_path / "plain"})})
    plain = Assistant(settings, embedder=KeywordEmbedder(), llm=FakeLLM())
    plain.index()
    crowded = plain.retrieve(QUESTION)
    assert sum("will lead the new company" in e.text for e in crowded.evidence) == 3
    reached = {d for e in retrieval.evidence for d in (e.doc_id, *e.also)}
    assert reached > {e.doc_id for e in crowded.evidence}  # the places the copies took go to other articles


def test_a_citation_names_the_other_outlets_and_survives_a_reload(news):
    fresh = Assistant(news.settings, embedder=news.embedder, llm=FakeLLM())
    lead = next(e for e in fresh.retrieve(QUESTION).evidence if "will lead the new company" in e.text)
    documents = fresh.documents()
    cited = lead.citation(documents[lead.doc_id], [documents[d] for d in lead.also])
    assert {r.doc_id for r in cited.also} == set(WIRE) - {cited.doc_id}
    outlets = {r.source.outlet for r in cited.also}
    assert outlets <= {"Nordpresse", "Baltic Business Daily", "rheincourier.example"} and len(outlets) == 2
    from qa.core.records import Answer, Timings

    answer = Answer(QUESTION, f"Lena Brandt [1] — “{cited.quote}”", (cited,), False, "en", Timings())
    assert f"also reported by {', '.join(r.source.outlet for r in cited.also)}" in format_answer(answer)
    assert {a["file"] for a in answer_json(answer)["citations"][0]["also"]} == set(WIRE) - {cited.doc_id}


def test_the_side_panel_names_the_other_outlets_of_a_passage(news):
    from qa.web import ChatApp, new_session

    lead = next(e for e in news.retrieve(QUESTION).evidence if "will lead the new company" in e.text)
    documents = news.documents()
    cited = lead.citation(documents[lead.doc_id], [documents[d] for d in lead.also])
    session = {**new_session(news.conversation()), "citations": {"1:1": cited}}
    panel = ChatApp(news).show_source(session, type("Click", (), {"key": "1:1"})())
    assert '<div class="qa-also">also reported by ' in panel and "<mark>" in panel
    assert documents[lead.doc_id].source.outlet in panel  # the cited outlet, with its date


def test_signatures_are_stored_with_the_index_and_computed_once_per_document(tmp_path, monkeypatch):
    import shutil

    import numpy as np

    from index import builder as builder_module
    from index.builder import IndexBuilder
    from index.copies import NUM_PERM, SIGNATURES, signatures
    from index.store import IndexStore
    from qa.core.settings import ChunkSettings

    corpus = tmp_path / "corpus"
    shutil.copytree(NEWS, corpus)
    asked: list[list[str]] = []

    def counting(documents):
        docs = list(documents)
        asked.append(sorted(d.doc_id for d in docs))
        return signatures(docs)

    monkeypatch.setattr(builder_module, "signatures", counting)
    embedder = KeywordEmbedder()
    store = IndexStore(tmp_path / "index")

    def run():
        b = IndexBuilder(store, IngestSettings(), ChunkSettings(), embedder.identity, lambda: embedder)
        return b.run(corpus)

    first = run()
    assert asked == [sorted(first.added)]
    manifest, data = store.load_data()
    stored = np.load(tmp_path / "index" / manifest.files[SIGNATURES])
    assert stored.shape == (len(first.added), NUM_PERM)
    assert data.copies == copy_groups(data.documents, IngestSettings().copy_threshold)  # the same groups from the cache
    shutil.copy(corpus / WIRE[1], corpus / "reprint-again.html")
    second = run()
    assert second.added == ["reprint-again.html"] and asked[-1] == ["reprint-again.html"]
    assert store.load_data()[1].copies["reprint-again.html"] == WIRE[0]
