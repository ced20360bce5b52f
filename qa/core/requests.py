"""The fields of a call to one of the assistant's APIs (the web app's, MCP's), checked: each wrong one is a
RequestError that names it."""

from __future__ import annotations

from qa.core.errors import RequestError
from qa.core.records import Turn


def api_question(question: object) -> str:
    if not isinstance(question, str):
        raise RequestError(f"question: expected text, got {type(question).__name__}")
    return question


def api_text(field: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RequestError(f"{field}: expected text, got {type(value).__name__}")
    return value


def api_list(field: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError(f"{field}: expected a list of texts, got {type(value).__name__}")
    return value


def api_history(history: object) -> list[Turn]:
    if history is None:
        return []
    if not isinstance(history, list):
        raise RequestError(f"history: expected a list of {{question, answer}} objects, got {type(history).__name__}")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict):
            raise RequestError(f"history[{i}]: expected a {{question, answer}} object, got {type(turn).__name__}")
        extra = set(turn) - {"question", "answer"}
        if extra:
            raise RequestError(f"history[{i}]: unknown field {sorted(extra)[0]!r} (only question and answer)")
        for field in ("question", "answer"):
            if not isinstance(turn.get(field, ""), str):
                raise RequestError(f"history[{i}].{field}: expected text, got {type(turn[field]).__name__}")
        turns.append(Turn(turn.get("question", ""), turn.get("answer", "")))
    return turns
