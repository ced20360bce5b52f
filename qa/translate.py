"""Translation by the local model: the question into the articles' other languages (for retrieval), and a short
answer into the question's language (for the reader).

multilingual-e5-small matches a question to a sentence in another language much less well than
to one in its own (eval/README.md), and BM25 cannot cross languages at all. A rough translation of
the question by the local model, searched beside the original, recovers part of that: the
translation only has to carry the right words, it is never shown. A translated answer is shown, so it is
checked before it is (`qa.verify.translation_holds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from qa.core.languages import LANGUAGE_NAMES
from qa.core.records import GenerationStats
from qa.llm import LLM


@dataclass(frozen=True)
class Translation:
    text: str  # empty when the model wrote nothing
    stats: GenerationStats | None


class Translator:
    """One prompt (`prompts/translate.txt`: worked examples of questions and of short answers) for both jobs,
    so that its examples are evaluated once per context and reused by every translation."""

    def __init__(self, llm: LLM, prompts_dir: Path, max_tokens: int = 48):
        self.llm = llm
        self.template = Template((Path(prompts_dir) / "translate.txt").read_text(encoding="utf-8").rstrip())
        self.max_tokens = max_tokens

    def translate(self, text: str, source: str, target: str) -> Translation | None:
        """The text (a question or a short answer) in the `target` language, or None when a language has no
        name here."""
        if source == target or source not in LANGUAGE_NAMES or target not in LANGUAGE_NAMES:
            return None
        prompt = self.template.substitute(
            source=LANGUAGE_NAMES[source], target=LANGUAGE_NAMES[target], text=" ".join(text.split())
        )
        generation = self.llm.stream(prompt, self.max_tokens, ["\n"])
        text = "".join(generation).strip()
        return Translation(text, generation.stats)
