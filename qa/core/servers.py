"""Talking to a model server (an OpenAI-compatible API): one place that turns what can go wrong on the wire, or in
a reply out of protocol, into a `ModelServerError` naming the server, without its credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from qa.core.errors import ConfigError, ModelServerError


def checked_url(url: str, field: str) -> str:
    """A server's API root from the settings, refused early when it cannot be one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{field} = {url!r} is not an http(s) address", hint=f'e.g. {field} = "http://127.0.0.1:8080/v1"'
        )
    return url.rstrip("/")


def shown(url: str) -> str:
    """The address without a user name or password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


class Server:
    """A model server's API root: JSON requests and streamed events, every failure a `ModelServerError`."""

    def __init__(
        self,
        base_url: str,
        field: str,
        what: str,
        api_key: str = "",
        hint: str = "",
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 300.0,
    ):
        """`field`: the setting `base_url` comes from, named when it cannot be an address."""
        base_url = checked_url(base_url, field)
        self.base_url, self.what, self.hint = base_url, what, hint
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = http or httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport)

    def error(self, message: str, hint: str | None = None) -> ModelServerError:
        return ModelServerError(f"the {self.what} at {shown(self.base_url)} {message}", hint=hint)

    @contextmanager
    def _replies(self) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:
            raise self.error(f"cannot be reached ({type(exc).__name__}: {exc})", hint=self.hint) from None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise self.error(f"answered out of protocol ({type(exc).__name__}: {exc})") from None

    def _status(self, response: httpx.Response) -> None:
        if response.status_code == 401:
            raise self.error("refused the key (401)", hint="set the api_key this server expects")
        if response.status_code != 200:
            raise self.error(f"answered {response.status_code}: {response.text[:300]}")

    def json(self, method: str, url: str, body: dict | None = None, read=lambda reply: reply) -> Any:
        """The reply's JSON passed through `read`; a reply `read` cannot take is out of protocol."""
        with self._replies():
            response = self.http.request(method, url, json=body)
            self._status(response)
            return read(response.json())

    def events(self, url: str, body: dict, read=lambda event: event) -> Iterator[Any]:
        """The server-sent events of a streamed request passed through `read`, to its `[DONE]` (a stream cut
        short is an error, as is an event `read` cannot take)."""
        with self._replies(), self.http.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                response.read()
                self._status(response)
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                event = json.loads(data)
                if not isinstance(event, dict) or "error" in event:
                    raise self.error(f"reported an error: {str(event)[:300]}")
                yield read(event)
        raise self.error("ended a stream before its [DONE]")
