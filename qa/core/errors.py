"""Typed errors with a hint. The CLI and the web app turn them into one clear line."""

from __future__ import annotations

import logging
from pathlib import Path


class QAError(Exception):
    hint: str = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        msg = self.args[0] if self.args else ""
        return f"{msg} ({self.hint})" if self.hint else msg


class ConfigError(QAError):
    hint = "check qa.toml and the QA_* environment variables"


class IngestError(QAError):
    """A file could not be read as a document; names the file."""

    hint = "fix or remove the file, then run `qa index` again"


class IndexMissingError(QAError):
    hint = "run `qa index` first"


class IndexMismatchError(QAError):
    hint = "run `qa index --rebuild` to rebuild the index with the configured models"


class IndexWriteError(QAError):
    hint = "free disk space (or make the folder writable) and run `qa index` again"


class IndexCorruptError(QAError):
    hint = "run `qa index --rebuild`"


class ModelMissingError(QAError):
    hint = "run `qa setup` (or `make run`) to prepare the default models, or point the settings at a model file"


class ModelServerError(QAError):
    """A model server (`llm.backend` or `embedder.backend` "openai") cannot be reached or answered out of
    protocol."""

    hint = "check llm.base_url (or embedder.base_url) and that the server is up"


class DependencyMissingError(QAError):
    hint = "run `make run` or `pip install -e .` inside the project's virtual environment"


class EmptyQuestionError(QAError):
    hint = 'ask something, e.g. "Who leads DiDi?"'


class QuestionTooLongError(QAError):
    hint = "ask one short question; the answer is looked up in the articles, not in the question"


class ScopeError(QAError):
    """A filter that no indexed article passes."""

    hint = "widen the filter; `qa info` lists the indexed articles with their outlets, dates and languages"


class RequestError(QAError):
    """A malformed call to the API: names the field."""

    hint = "see the API's description at /?view=api"


class UnexpectedError(QAError):
    """A bug, not the user's doing: each face shows one line and writes the traceback to the log."""

    @classmethod
    def of(cls, exc: BaseException, log_file: object) -> UnexpectedError:
        return cls(f"unexpected {type(exc).__name__}: {exc}", hint=f"this is a bug; the details are in {log_file}")


class ServeError(QAError):
    hint = "pass --port with a free port (or --host with an address of this machine), or stop the other server"


def at_boundary(exc: Exception, data: Path, log: logging.Logger) -> QAError:
    """A face's error boundary (the web app, the APIs): a QAError as it is; anything else is a bug, logged with
    its traceback by the face's `log` and shown as one line that points at `<data>/qa.log`."""
    if isinstance(exc, QAError):
        return exc
    log.error("unexpected error", exc_info=exc)
    return UnexpectedError.of(exc, Path(data) / "qa.log")
