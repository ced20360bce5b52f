"""The one assistant API: the CLI, the web app and the eval harness all go through `Assistant`.

Models and the index load lazily, once per process; fakes can be passed in for tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.builder import IndexBuilder, IndexReport, Progress
from index.embed import Embedder
from index.ingest import Ingestor, corpus_files
from index.language import detect_language
from index.store import IndexStore, LoadedIndex
from qa import models, protocol
from qa.answer import STOP, PromptBuilder, parse_answer
from qa.errors import EmptyQuestionError, IngestError
from qa.followup import Turn, recent, rewrite
from qa.present import Passage, passage
from qa.translate import QueryTranslator
from qa.llm import LLM
from qa.records import Answer, Citation, Timings
from qa.retrieve import Retrieval, Retriever
from qa.verify import Verifier
from qa.settings import Settings

QUESTION_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")


@dataclass(frozen=True)
class Token:
    """A piece of the answer as the model writes it (before citations are checked)."""

    text: str


@dataclass
class AddReport:
    """What `add_documents` did: files saved into the corpus, files refused (name, reason), and the index run."""

    saved: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    index: IndexReport | None = None


class Assistant:
    """Safe to share between threads: answering and indexing take one lock, so the model runs one answer at a
    time and never interleaves two (a web server's sessions queue for it)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, llm: LLM | None = None,
                 embedder_identity: dict | None = None):
        self.settings = settings
        self._embedder = embedder
        self._embedder_identity = embedder_identity or (embedder.identity if embedder else None)
        self._llm = llm
        self._llm_injected = llm is not None
        self._index: LoadedIndex | None = None
        self._retriever: Retriever | None = None
        self._translator: QueryTranslator | None = None
        self.prompts = PromptBuilder(settings.paths.prompts)
        self.store = IndexStore(settings.paths.index_dir, settings.vectors)
        self._lock = threading.Lock()  # not reentrant: a generator may be resumed on another thread

    # -- models, loaded on first use -------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = models.load_embedder(self.settings, self.embedder_identity)
        return self._embedder

    @property
    def embedder_identity(self) -> dict:
        if self._embedder_identity is None:
            self._embedder_identity = models.embedder_identity(self.settings)
        return self._embedder_identity

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = models.load_llm(self.settings)
        return self._llm

    # -- indexing ----------------------------------------------------------------------
    def index(self, corpus: Path | None = None, rebuild: bool = False,
              progress: Progress | None = None) -> IndexReport:
        corpus = Path(corpus or self.settings.paths.corpus)
        corpus_files(corpus, self.settings.ingest.extensions)  # a missing folder is named before models load
        with self._lock:
            return self._index_locked(corpus, rebuild, progress)

    def _index_locked(self, corpus: Path, rebuild: bool, progress: Progress | None) -> IndexReport:
        builder = IndexBuilder(self.store, self.settings.ingest, self.settings.chunking,
                               self.embedder_identity, lambda: self.embedder)
        report = builder.run(corpus, rebuild=rebuild, progress=progress)
        if report.written:
            self._index = self._retriever = None
        return report

    def add_documents(self, files: Sequence[Path], progress: Progress | None = None) -> AddReport:
        """Checks each file as the indexer would read it, copies the good ones into the corpus (atomically,
        replacing a file of the same name) and indexes incrementally. A refused file changes nothing."""
        corpus = Path(self.settings.paths.corpus)
        ingest = self.settings.ingest
        ingestor = Ingestor(ingest)
        report = AddReport()
        with self._lock:
            for path in files:
                path = Path(path)
                name = path.name
                if path.suffix.lower() not in ingest.extensions:
                    report.refused.append((name, f"{name}: only {', '.join(ingest.extensions)} files can be added"))
                    continue
                try:
                    ingestor.read(path, name)
                except IngestError as exc:
                    report.refused.append((name, str(exc.args[0]).replace(str(path), name)))
                    continue
                fd, tmp = tempfile.mkstemp(dir=corpus, prefix=f".{name}.", suffix=".part")
                os.close(fd)
                shutil.copyfile(path, tmp)
                os.replace(tmp, corpus / name)
                report.saved.append(name)
            if report.saved:
                report.index = self._index_locked(corpus, False, progress)
        return report

    def passage(self, citation: Citation) -> Passage:
        """The cited quote in its context, for a reader checking the source."""
        document = self.loaded_index().data.documents[citation.doc_id]
        return passage(document, citation, self.settings.chat.context_sentences)

    def loaded_index(self) -> LoadedIndex:
        if self._index is None:
            index = self.store.load()
            index.check_embedder(self.embedder_identity)
            self._index = index
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.loaded_index(), self.embedder, self.settings.retrieval,
                                        self.settings.ingest.instruction_patterns)
        return self._retriever

    # -- answering ---------------------------------------------------------------------
    def question_language(self, question: str) -> str:
        return detect_language(question, self.settings.ingest.languages or QUESTION_LANGUAGES)

    def text_language(self, text: str, default: str) -> str:
        """The language of a piece of the answer; short or unclear text counts as `default`."""
        if len(text.split()) < 4:
            return default
        return detect_language(text, self.settings.ingest.languages or QUESTION_LANGUAGES, default,
                               min_confidence=0.6)

    @property
    def translator(self) -> QueryTranslator:
        """Translation runs in a context of its own: sharing the answering context would evict the answer
        prompt's cached prefix (instructions and worked examples) at every question."""
        if self._translator is None:
            llm = self.llm if self._llm_injected else models.load_llm(self.settings)
            self._translator = QueryTranslator(llm, self.settings.paths.prompts)
        return self._translator

    def translations(self, question: str, language: str) -> tuple[str, ...]:
        """The question in each other language the index holds articles in (when enabled)."""
        if not self.settings.retrieval.translate_queries:
            return ()
        languages = sorted({d.language for d in self.loaded_index().data.documents.values()} - {language})
        found = (self.translator.translate(question, language, target) for target in languages[:2])
        return tuple(t for t in found if t and t.casefold() != question.casefold())

    def retrieve(self, question: str, translations: tuple[str, ...] = ()) -> Retrieval:
        return self.retriever.retrieve(question, translations)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        answer = None
        for event in self.ask_stream(question, history):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def warm_up(self) -> None:
        """Loads the index, both models and the language detector, so that answer timings are the answer's own."""
        if self._retriever is None or self._llm is None:
            _ = self.retriever, self.llm
            if self.settings.retrieval.translate_queries:
                _ = self.translator
            self.question_language("warm up")

    def ask_stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Token | Answer]:
        """Yields the model's text as it comes (`Token`), then the checked `Answer`.

        `history` holds the earlier turns of a conversation; a follow-up is rewritten into a
        standalone question before retrieval (plain questions are left as they are). Only the last
        `chat.history_turns` are used, and the model's prompt never holds the history itself.

        The assistant's lock is held until the generator ends or is closed."""
        if not question.strip():
            raise EmptyQuestionError("the question is empty")
        with self._lock:
            yield from self._ask_stream(question, recent(history, self.settings.chat.history_turns))

    def _ask_stream(self, question: str, history: Sequence[Turn]) -> Iterator[Token | Answer]:
        question = " ".join(question.split())
        self.warm_up()
        t0 = time.perf_counter()
        language = self.question_language(question)
        standalone = rewrite(question, history, language)
        t_rewritten = time.perf_counter()
        translations = self.translations(standalone, language)
        t_translated = time.perf_counter()
        retrieval = self.retrieve(standalone, translations)
        t_retrieved = time.perf_counter()
        model_info = {"llm": getattr(self.llm, "name", "?"), "embedder": self.embedder_identity.get("name", "?")}
        if not retrieval.evidence:
            now = time.perf_counter()
            timings = Timings(t_rewritten - t0, t_translated - t_rewritten, t_retrieved - t_translated,
                              0.0, 0.0, 0.0, now - t0)
            yield self._refused(question, language, timings, model_info, standalone=standalone)
            return
        verifier = self.verifier
        ordered = verifier.order(standalone, language, retrieval.evidence, translations)
        evidence = ordered or retrieval.evidence
        shown = self._pack(evidence)
        prompt = self.prompts.build(shown, standalone)
        raw, first = [], None
        ask_model = self.settings.llm.compose and ordered is not None
        pieces = self.llm.stream(prompt, self.settings.llm.max_tokens, STOP) if ask_model else ()
        for piece in pieces:
            if first is None:
                first = time.perf_counter()
            raw.append(piece)
            yield Token(piece)
        t_done = time.perf_counter()
        parsed = parse_answer("".join(raw), shown)
        verified = verifier.verify(standalone, parsed.text, language, shown, self._evidence_language,
                                   model_refused=parsed.refused,
                                   claim_language=lambda text: self.text_language(text, language),
                                   translations=translations, quotable=evidence)
        t_end = time.perf_counter()
        timings = Timings(
            rewrite_s=t_rewritten - t0,
            translate_s=t_translated - t_rewritten,
            retrieve_s=t_retrieved - t_translated,
            first_token_s=(first or t_done) - t0,
            generate_s=t_done - t_retrieved,
            verify_s=t_end - t_done,
            total_s=t_end - t0,
        )
        yield Answer(question, verified.text, verified.citations, verified.mode == "refused", language, timings,
                     model_info, evidence, verified.mode, raw="".join(raw), rewritten=standalone,
                     translations=translations)

    def _pack(self, evidence) -> list:
        """The best evidence sentences that fit `llm.evidence_tokens` (the best one always)."""
        count = getattr(self.llm, "count_tokens", None) or (lambda text: int(len(text.split()) * 1.5) + 1)
        shown, used = [], 0
        for ev in evidence[: self.settings.llm.evidence]:
            cost = count(ev.text) + 4
            if shown and used + cost > self.settings.llm.evidence_tokens:
                break
            shown.append(ev)
            used += cost
        return shown

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.embedder.encode_documents, self.retriever.sentence_vector,
                        trust_model_refusal=self.settings.llm.trust_refusal,
                        min_score=self.settings.retrieval.min_evidence_score)

    def _evidence_language(self, ev) -> str:
        return self.loaded_index().data.documents[ev.doc_id].language

    def _refused(self, question: str, language: str, timings: Timings, model_info: dict,
                 standalone: str = "") -> Answer:
        return Answer(question, protocol.refusal(language), (), True, language, timings, model_info,
                      (), "refused", rewritten=standalone or question)

    # -- description -------------------------------------------------------------------
    def info(self) -> dict:
        s = self.settings
        out = {
            "corpus": str(s.paths.corpus.resolve()),
            "index": str(s.paths.index_dir.resolve()),
            "models_dir": str(s.paths.models_dir.resolve()),
            "embedder": models.embedder_location(s),
            "llm": str(models.llm_path(s)),
        }
        if self.store.exists():
            manifest = self.store.read_manifest()
            out["indexed"] = {
                "written_at": manifest["written_at"],
                "embedder": manifest["embedder"],
                "counts": manifest["counts"],
                "documents": manifest["documents"],
            }
        else:
            out["indexed"] = None
        return out
