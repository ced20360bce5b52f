"""Question translation by the local model, so that retrieval can also search in the articles' other languages.

multilingual-e5-small matches a question to a sentence in another language much less well than
to one in its own (eval/README.md), and BM25 cannot cross languages at all. A rough translation of
the question by the local model, searched beside the original, recovers most of that: the
translation only has to carry the right words, it is never shown.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from qa.llm import LLM

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
    "pt": "Portuguese",
}


class QueryTranslator:
    def __init__(self, llm: LLM, prompts_dir: Path, max_tokens: int = 48):
        self.llm = llm
        self.template = Template((Path(prompts_dir) / "translate.txt").read_text(encoding="utf-8").rstrip())
        self.max_tokens = max_tokens

    def translate(self, question: str, source: str, target: str) -> str | None:
        if source == target or source not in LANGUAGE_NAMES or target not in LANGUAGE_NAMES:
            return None
        prompt = self.template.substitute(source=LANGUAGE_NAMES[source], target=LANGUAGE_NAMES[target],
                                          question=" ".join(question.split()))
        text = "".join(self.llm.stream(prompt, self.max_tokens, ["\n"])).strip()
        return text or None
