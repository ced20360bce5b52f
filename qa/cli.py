"""`qa`: a thin command line over `Assistant`. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from qa.core.errors import ConfigError, QAError, UnexpectedError
from qa.present import answer_json, format_answer, format_record

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ask questions about your articles.")

EXIT_USER_ERROR = 2


def _settings():
    from qa.core.settings import load_settings

    settings = load_settings()
    configure_logging(settings.paths.data)
    return settings


OURS = {"qa", "index", "eval"}


def configure_logging(data: Path) -> None:
    """Everything logged, libraries' warnings included, goes to `<data>/qa.log`; only our own warnings (a skipped
    link, an uncalibrated embedder) also reach the terminal, as one line each."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(data / "qa.log", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"paths.data: cannot write to {data} ({exc.strerror or exc})", hint="point paths.data at a writable folder"
        ) from None
    to_file.setLevel(logging.INFO)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_terminal = logging.StreamHandler()
    to_terminal.setLevel(logging.WARNING)
    to_terminal.addFilter(lambda record: record.name.split(".")[0] in OURS and not record.exc_info)
    to_terminal.setFormatter(logging.Formatter("warning: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [to_file, to_terminal]
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def _assistant():
    from qa.assistant import Assistant

    return Assistant(_settings())


@app.command()
def setup() -> None:
    """Prepare the default models in the model cache (once; nothing is downloaded)."""
    for kind, path in _assistant().prepare_models(log=lambda m: typer.echo(m, err=True)).items():
        typer.echo(f"{kind}: {path}")


@app.command()
def index(
    path: Annotated[Path | None, typer.Argument(help="Corpus folder (default: the configured one).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-read and re-embed every file.")] = False,
) -> None:
    """Index the corpus incrementally: new and changed files are read, removed ones leave."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    assistant = _assistant()
    with Progress(
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        report = assistant.index(path, rebuild=rebuild, progress=progress)
    parts = [
        f"{len(report.added)} added",
        f"{len(report.updated)} updated",
        f"{len(report.removed)} removed",
        f"{len(report.unchanged)} unchanged",
    ]
    moved = (
        f"moved to {'Milvus' if assistant.settings.vectors.backend == 'milvus' else 'FAISS'}: " if report.moved else ""
    )
    typer.echo(("rebuilt: " if report.rebuilt else moved) + ", ".join(parts) + f"; {report.chunks} chunks")
    for _, message in report.failed:
        typer.echo(f"error: {message}", err=True)
    if report.failed:
        raise typer.Exit(EXIT_USER_ERROR)


@app.command(context_settings={"ignore_unknown_options": True})
def ask(
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    since: Annotated[str, typer.Option(help="Only articles published on or after this day (YYYY-MM-DD).")] = "",
    until: Annotated[str, typer.Option(help="Only articles published on or before this day (YYYY-MM-DD).")] = "",
    outlet: Annotated[
        list[str] | None, typer.Option(help="Only articles of this outlet, by name or web address (repeatable).")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Only articles in this language, e.g. de (repeatable).")
    ] = None,
    no_server: Annotated[
        bool, typer.Option("--no-server", help="Answer in this process even when a `qa serve` is up.")
    ] = False,
) -> None:
    """Answer a question from the indexed articles, with the passages it rests on (through a running `qa serve`
    of the same index and settings when there is one: it holds the models already)."""
    from qa import client
    from qa.assistant import Token
    from qa.core.records import Scope

    scope = Scope.of(since, until, outlet or (), language or ())
    assistant = _assistant()
    address = None
    if not no_server and assistant.store.exists():
        identity = client.index_identity(assistant.settings, assistant.store.read_manifest().generation)
        address = client.running_server(assistant.settings, identity)
    if address is not None:
        fields = {"since": since, "until": until, "outlets": outlet or [], "languages": language or []}
        record = client.ask(address, assistant.settings, question, fields)
        typer.echo(f"(answered by the qa serve at {address})", err=True)
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2) if as_json else format_record(record))
        return
    answer = None
    streaming = not as_json and sys.stdout.isatty()
    draft = ""
    for event in assistant.ask_stream(question, scope=scope):
        if isinstance(event, Token):
            if streaming:
                sys.stdout.write("\033[2m" + event.text + "\033[0m")  # the unchecked draft, dimmed
                sys.stdout.flush()
                draft += event.text
        else:
            answer = event
    if streaming and draft:
        import shutil

        width = shutil.get_terminal_size().columns
        lines = max(0, (len(draft) - 1) // width)
        sys.stdout.write("\r\033[K" + "\033[1A\033[K" * lines)
    assert answer is not None
    if as_json:
        typer.echo(json.dumps(answer_json(answer), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_answer(answer))


def chat_loop(assistant, lines, write) -> None:
    """The terminal conversation: each line is a question; follow-ups are rewritten from the turns before.
    `/rewrite` toggles showing the standalone question, `/new` forgets the conversation, `/quit` ends."""
    conversation = assistant.conversation()
    show_rewrite = False
    for line in lines:
        question = line.strip()
        if not question:
            continue
        if question in {"/quit", "/exit"}:
            break
        if question == "/new":
            conversation = assistant.conversation()
            write("(new conversation)\n")
            continue
        if question == "/rewrite":
            show_rewrite = not show_rewrite
            write(f"(showing rewritten questions: {'on' if show_rewrite else 'off'})\n")
            continue
        answer = assistant.ask(question, conversation)
        if show_rewrite and answer.rewritten != question:
            write(f"(asked as: {answer.rewritten})\n")
        write(format_answer(answer) + "\n")
        conversation = conversation.then(question, answer.text)


@app.command()
def chat() -> None:
    """Talk with the assistant in the terminal; follow-up questions use the conversation so far."""
    assistant = _assistant()
    interactive = sys.stdin.isatty()
    if interactive:
        typer.echo(
            "Ask about your articles. /rewrite shows how follow-ups are understood, /new starts over, /quit ends.",
            err=True,
        )

    def lines():
        while True:
            try:
                yield input("you> " if interactive else "")
            except EOFError:
                return

    chat_loop(assistant, lines(), lambda text: (sys.stdout.write(text), sys.stdout.flush()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1, from the settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860, from the settings).")] = None,
) -> None:
    """Chat with the assistant in the browser."""
    from qa import web

    assistant = _assistant()
    app = web.serve(assistant, host, port)
    typer.echo(f"Chat at {app.local_url}  (Ctrl+C stops)")
    if (host or assistant.settings.chat.host) not in {"127.0.0.1", "localhost", "::1"}:
        typer.echo("warning: reachable from other machines on the network", err=True)
    app.block_thread()


@app.command("mcp")
def mcp_stdio() -> None:
    """Serve the assistant to MCP clients (editors, agents) over stdin and stdout."""
    from qa import mcp_server

    mcp_server.serve_stdio(_assistant())


@app.command("eval")
def evaluate(
    suites: Annotated[
        list[str] | None,
        typer.Option(
            "--suite",
            help="seed (the bundled articles), xquad (XQuAD's "
            "development half, en/de/es) or xquad-ruzh (the stretch suite); repeatable.",
        ),
    ] = None,
    sample: Annotated[int, typer.Option(help="Ask a fixed sample of about this many questions (0: all).")] = 0,
    source: Annotated[
        Path | None,
        typer.Option(
            help="Build the xquad suites from this XQuAD folder instead of "
            "eval/data/xquad (the same file format, e.g. another half)."
        ),
    ] = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Score retrieval only, no generation.")
    ] = False,
    embedders: Annotated[
        list[str] | None,
        typer.Option(
            "--embedder",
            help="With --retrieval-only: compare this "
            "sentence-transformers folder too (repeatable; each gets its own index).",
        ),
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate/--no-gate", help="Fail when a score misses eval/thresholds.toml.")
    ] = True,
    out: Annotated[
        Path, typer.Option(help="Folder for report.json and summary.md (one subfolder per suite beside seed's).")
    ] = Path("eval/reports"),
) -> None:
    """Score the assistant against a suite's gold questions (eval/suites.py) and gate the scores."""
    from eval import harness
    from eval import suites as suite_lib
    from qa.assistant import Assistant

    settings = _settings()
    failures: list[str] = []
    for name in suites or ["seed"]:
        try:
            suite = suite_lib.suite(name, settings, source)
        except (ValueError, FileNotFoundError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--suite/--source") from None
        base = suite_lib.suite_settings(settings, suite)
        runs = [("default", base)]
        for path in embedders or []:
            label = Path(path).name or path
            own = suite_lib.with_data(base, base.paths.data / "eval" / label)
            runs.append((label, own.model_copy(update={"embedder": base.embedder.model_copy(update={"model": path})})))
        questions = harness.sample(suite.questions(), sample)
        for label, run_settings in runs:
            assistant = Assistant(run_settings)
            assistant.index(suite.corpus)
            report = harness.run(assistant, questions, retrieval_only, name, suite.copies)
            target = out if name == "seed" else out / name
            target = target if label == "default" else target / label
            js, md = harness.write_report(report, target)
            typer.echo(harness.markdown(report))
            typer.echo(f"report: {js}  summary: {md}\n")
            if gate and label == "default" and not retrieval_only and not sample:
                failures += [
                    f"{name}: {line}" for line in harness.gate(report["summary"], harness.load_thresholds(name))
                ]
    for line in failures:
        typer.echo(f"gate: {line}", err=True)
    if failures:
        raise typer.Exit(1)


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What is indexed, which models are configured, where files live."""
    data = _assistant().info()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("corpus", "index", "models_dir", "embedder", "llm"):
        typer.echo(f"{key:11} {data[key]}")
    indexed = data["indexed"]
    if not indexed:
        typer.echo("index      (none yet: run `qa index`)")
        return
    c = indexed["counts"]
    typer.echo(
        f"indexed    {c['documents']} documents, {c['chunks']} chunks, {c['sentences']} sentences "
        f"at {indexed['written_at']} with {indexed['embedder']['name']}, searched by {indexed['search']}"
    )
    for doc_id, d in indexed["documents"].items():
        typer.echo(f"  {doc_id}  [{d['language']}]  {d['title']}")


def main() -> None:
    try:
        code = app(standalone_mode=False)  # click returns a command's exit code instead of raising Exit
    except QAError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):  # usage errors
            exc.show()
            sys.exit(exc.exit_code)
        log_file = next(
            (h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)), None
        )
        if log_file:
            logging.getLogger(__name__).error("unexpected error", exc_info=exc)
        else:
            import traceback

            traceback.print_exception(exc)
        typer.echo(f"error: {UnexpectedError.of(exc, log_file or 'the traceback above')}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
