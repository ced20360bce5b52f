"""The one assistant API: the CLI, the web app and the eval harness all go through `Assistant`.

Models and the index load lazily, once per process; fakes can be passed in for tests.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from index.budget import FileBudget
from index.builder import IndexBuilder, IndexReport, Progress
from index.embed import Embedder
from index.ingest import Ingestor, corpus_folder
from index.language import detect_language
from index.store import IndexStore, LoadedIndex, engine_of, manifest_json
from qa import answer_types, models
from qa.core.errors import EmptyQuestionError, IndexMissingError, IngestError, QuestionTooLongError
from qa.core.records import EVERYTHING, Answer, Chunk, Citation, Conversation, Document, EmbedderIdentity, Scope, Turn
from qa.core.settings import Settings
from qa.evidence import Calibration
from qa.extract import SpanExtractor
from qa.llm import LLM
from qa.pipeline import QUESTION_LANGUAGES, Pipeline, Token
from qa.present import Passage, passage
from qa.retrieve import Retrieval, Retriever
from qa.translate import Translator

log = logging.getLogger(__name__)

__all__ = ["AddReport", "Assistant", "Token"]


@dataclass
class AddReport:
    """What `add_documents` did: files saved into the corpus, files refused (name, reason), and the index run."""

    saved: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    index: IndexReport | None = None


class Assistant:
    """Safe to share between threads: answering and indexing take one lock, so the model runs one answer at a
    time and never interleaves two (a web server's sessions queue for it)."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        embedder_identity: EmbedderIdentity | None = None,
    ):
        self.settings = settings
        self._embedder = embedder
        self._embedder_identity = embedder_identity or (embedder.identity if embedder else None)
        self._llm = llm
        self._llm_injected = llm is not None
        self._index: LoadedIndex | None = None
        self._retriever: Retriever | None = None
        self._translator: Translator | None = None
        self._extractor: SpanExtractor | None = None
        self._pipeline: Pipeline | None = None
        self.store = IndexStore(settings.paths.index_dir, settings.vectors)
        self._lock = threading.Lock()  # not reentrant: a generator may be resumed on another thread
        self._loading = threading.Lock()  # models load once, whichever thread asks first

    # -- models, loaded on first use -------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._loading:
                if self._embedder is None:
                    self._embedder = models.load_embedder(self.settings, self._embedder_identity)
                    self._embedder_identity = self._embedder_identity or self._embedder.identity
        return self._embedder

    @property
    def embedder_identity(self) -> EmbedderIdentity:
        if self._embedder_identity is None:
            if self.settings.embedder.backend == "openai":  # the server says it; ask it once
                self._embedder_identity = self.embedder.identity
            else:
                self._embedder_identity = models.embedder_identity(self.settings)
        return self._embedder_identity

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = models.load_llm(self.settings)
        return self._llm

    # -- indexing ----------------------------------------------------------------------
    def index(self, corpus: Path | None = None, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        corpus = Path(corpus or self.settings.paths.corpus)
        corpus_folder(corpus)  # a missing folder is named before models load
        with self._lock:
            return self._index_locked(corpus, rebuild, progress)

    def _index_locked(self, corpus: Path, rebuild: bool, progress: Progress | None) -> IndexReport:
        builder = IndexBuilder(
            self.store, self.settings.ingest, self.settings.chunking, self.embedder_identity, lambda: self.embedder
        )
        report = builder.run(corpus, rebuild=rebuild, progress=progress)
        if report.written:
            self._index = self._retriever = self._pipeline = None
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
                if name.startswith("."):
                    report.refused.append((name, f"{name}: a hidden file (its name starts with a dot) is never read"))
                    continue
                try:
                    ingestor.read(path, name, budget=FileBudget(name, ingest.max_seconds_per_file))
                    save_atomically(path, corpus / name)
                except IngestError as exc:
                    report.refused.append((name, str(exc.args[0]).replace(str(path), name)))
                    continue
                report.saved.append(name)
            if report.saved:
                report.index = self._index_locked(corpus, False, progress)
        return report

    def documents(self) -> Mapping[str, Document]:
        """The indexed documents by id (read-only)."""
        return MappingProxyType(self.loaded_index().data.documents)

    def chunks(self) -> Sequence[Chunk]:
        """The indexed chunks, in index order."""
        return tuple(self.loaded_index().data.chunks)

    def passage(self, citation: Citation) -> Passage:
        """The cited quote in its context, for a reader checking the source."""
        document = self.documents().get(citation.doc_id)
        if document is None:
            raise IndexMissingError(
                f"{citation.doc_id} is no longer in the index", hint="ask again to cite what the index holds now"
            )
        return passage(document, citation, self.settings.chat.context_sentences)

    def loaded_generation(self) -> int | None:
        """The generation of the index this assistant has loaded (None before it loads one)."""
        return self._index.manifest.generation if self._index is not None else None

    def loaded_index(self) -> LoadedIndex:
        if self._index is None:
            index = self.store.load()
            index.check_embedder(self.embedder_identity)
            self._index = index
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(
                self.loaded_index(), self.embedder, self.settings.retrieval, self.settings.ingest.instruction_patterns
            )
        return self._retriever

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None or self._pipeline.retriever is not self.retriever:
            self._pipeline = Pipeline(
                self.settings,
                self.loaded_index().data.documents,
                self.retriever,
                lambda: self.extractor,
                lambda: self.translator,
                self.embedder.encode_queries,
            )
            self._check_calibration(self._pipeline.calibration)
        return self._pipeline

    def _check_calibration(self, calibration: Calibration) -> None:
        """The evidence models read the embedder's scores: fitted for another embedder, they still run, but
        what they call likely is not, so say so."""
        try:
            fitted = EmbedderIdentity.from_json(calibration.meta.get("embedder"))
        except ValueError:
            return
        ours = self.embedder_identity
        if fitted.fingerprint != ours.fingerprint:
            log.warning(
                "%s was fitted for the embedder %s, not for %s: evidence and refusals are uncalibrated; "
                "refit with `make fit`",
                self.settings.retrieval.calibration,
                fitted.describe(),
                ours.describe(),
            )

    @property
    def extractor(self) -> SpanExtractor:
        """Built when first needed: language detection, translation and retrieval (the retrieval-only
        evaluation, the fit's collection) never load the answering model."""
        if self._extractor is None:
            self._extractor = SpanExtractor(self.llm, self.settings.paths.prompts, self.settings.llm.max_tokens)
        return self._extractor

    # -- answering ---------------------------------------------------------------------
    def question_language(self, question: str) -> str:
        return self.pipeline.question_language(question)

    def text_language(self, text: str, default: str) -> str:
        """The language of a piece of the answer; short or unclear text counts as `default`."""
        if len(text.split()) < 4:
            return default
        return detect_language(text, self.settings.ingest.languages or QUESTION_LANGUAGES, default, min_confidence=0.6)

    @property
    def translator(self) -> Translator:
        """Translation runs in a context of its own: sharing the answering context would evict the answer
        prompt's cached prefix (instructions and worked examples) at every question."""
        if self._translator is None:
            llm = (
                self.llm if self._llm_injected else models.load_llm(self.settings, translation=True, alongside=self.llm)
            )
            self._translator = Translator(llm, self.settings.paths.prompts)
        return self._translator

    def translations(self, question: str, language: str) -> tuple[str, ...]:
        """The question in each other language the index holds articles in (when enabled)."""
        return self.pipeline.translations(question, language)

    def retrieve(self, question: str, translations: tuple[str, ...] = (), scope: Scope = EVERYTHING) -> Retrieval:
        return self.retriever.retrieve(question, translations, scope)

    def search(self, question: str, scope: Scope = EVERYTHING, limit: int = 5) -> list[tuple[Citation, float]]:
        """The sentences that best answer a question, as citations with the evidence model's probability that
        each holds the answer; nothing is generated but the question's translations."""
        self._check_question(question)
        with self._lock:
            self.warm_up()
            found = self.pipeline.search(" ".join(question.split()), scope)[: max(limit, 0)]
            return [(self.pipeline.citation(ev), ev.score) for ev in found]

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """The texts embedded as given, without the query or passage prompt, and the tokens they hold: what an
        embedding server is asked for."""
        embedder = self.embedder
        return embedder.encode(list(texts)), sum(embedder.count_tokens(t) for t in texts)

    def embedder_card(self) -> dict[str, Any]:
        """What a client of this assistant's embeddings needs to match an index built here: the identity the
        index records and the prompts its questions and passages take."""
        embedder = self.embedder
        return {
            **embedder.identity.to_json(),
            "query_prompt": embedder.query_prompt,
            "document_prompt": embedder.document_prompt,
        }

    def _check_question(self, question: str) -> None:
        if not question.strip():
            raise EmptyQuestionError("the question is empty")
        limit = self.settings.chat.max_question_chars
        if len(question) > limit:
            raise QuestionTooLongError(f"the question has {len(question):,} characters; at most {limit:,} are read")

    def conversation(self, turns: Sequence[Turn] = ()) -> Conversation:
        """A conversation (new, or of these earlier turns) keeping as many turns as the settings say a follow-up
        may refer to."""
        return Conversation.of(turns, self.settings.chat.history_turns)

    def ask(self, question: str, conversation: Conversation | None = None, scope: Scope = EVERYTHING) -> Answer:
        answer = None
        for event in self.ask_stream(question, conversation, scope):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def warm_up(self) -> None:
        """Loads the index, both models, the language detector and the tables of answer kinds, so that answer
        timings are the answer's own."""
        if self._retriever is None or self._llm is None:
            _ = self.pipeline.calibration
            _ = self.extractor
            if self.settings.retrieval.translate_queries:
                _ = self.translator
            self.question_language("warm up")
            answer_types.has_date("warm up")

    def ask_stream(
        self, question: str, conversation: Conversation | None = None, scope: Scope = EVERYTHING
    ) -> Iterator[Token | Answer]:
        """Yields the short answer as the model chooses it (`Token`), then the checked `Answer`; `scope` limits
        the articles searched (by date, outlet, language).

        `conversation` holds the earlier turns; a follow-up is rewritten into a standalone question before
        retrieval (plain questions are left as they are). The model's prompt never holds the conversation itself.

        The assistant's lock is held until the generator ends or is closed."""
        self._check_question(question)
        with self._lock:
            self.warm_up()
            model_info = {"llm": self.llm.name, "embedder": self.embedder_identity.name}
            turns = self.conversation(conversation.turns).turns if conversation is not None else ()
            yield from self.pipeline.run(" ".join(question.split()), turns, model_info, scope)

    # -- set-up and description -----------------------------------------------------------
    def prepare_models(self, log: Callable[[str], None] = print) -> dict[str, Path]:
        """Puts the default models into the model cache (once; nothing is downloaded)."""
        return models.prepare_defaults(self.settings, log=log)

    def info(self) -> dict[str, Any]:
        s = self.settings
        out: dict[str, Any] = {
            "corpus": str(s.paths.corpus.resolve()),
            "index": str(s.paths.index_dir.resolve()),
            "models_dir": str(s.paths.models_dir.resolve()),
            "embedder": models.embedder_location(s),
            "llm": str(models.llm_path(s)),
        }
        if self.store.exists():
            read = self.store.read_manifest()
            manifest = manifest_json(read)
            out["indexed"] = {k: manifest[k] for k in ("written_at", "embedder", "counts", "documents")}
            out["indexed"]["search"] = engine_of(read)
        else:
            out["indexed"] = None
        return out


def save_atomically(source: Path, dest: Path) -> None:
    """Copies `source` to `dest` through a hidden temporary file: a reader sees the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise IngestError(f"{dest.name}: cannot be saved into the corpus ({exc.strerror or exc})") from None
