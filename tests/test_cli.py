"""The CLI's error boundary: one clear line, a non-zero exit, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

QA = [sys.executable, "-m", "qa.cli"]


def run(args, cwd, **env):
    e = {**os.environ, **env}
    return subprocess.run(QA + args, cwd=cwd, env=e, capture_output=True, text=True, timeout=120)


def test_asking_without_an_index_says_what_to_do(tmp_path):
    models = tmp_path / "models_dir"
    r = run(["ask", "Who leads DiDi?"], tmp_path, QA_PATHS__DATA=str(tmp_path / "data"),
            QA_EMBEDDER__MODEL=str(models))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "qa setup" in r.stderr or "qa index" in r.stderr


def test_a_missing_corpus_folder_is_named(tmp_path):
    r = run(["index", str(tmp_path / "nope")], tmp_path, QA_PATHS__DATA=str(tmp_path / "data"),
            QA_EMBEDDER__MODEL=str(tmp_path / "nomodel"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "nope: no such folder (create it and put articles (.txt, .md, .html, .pdf) in it)" in r.stderr


def test_a_bad_setting_is_one_line(tmp_path):
    r = run(["info"], tmp_path, QA_RETRIEVAL__RRF_K="zero")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: bad setting retrieval.rrf_k: Input should be a valid integer, unable to parse string as an "
        "integer (check qa.toml and the QA_* environment variables)")


def test_an_empty_question_is_refused(tmp_path):
    r = run(["ask", "  "], tmp_path)
    assert r.returncode == 2 and "the question is empty" in r.stderr


def test_a_file_that_cannot_be_indexed_is_named_and_the_exit_status_says_so(settings, embedder, monkeypatch,
                                                                            capsys):
    import pytest

    from qa import cli
    from qa.assistant import Assistant

    (settings.paths.corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    monkeypatch.setattr(cli, "_assistant", lambda: Assistant(settings, embedder=embedder))
    monkeypatch.setattr(sys, "argv", ["qa", "index"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert out.startswith("rebuilt: 3 added")
    assert f"error: {settings.paths.corpus / 'image.txt'}: looks like a binary file, not text" in err


def test_a_question_that_looks_like_an_option_is_asked(settings, embedder, fake_llm, monkeypatch, capsys):
    import pytest

    from qa import cli
    from qa.assistant import Assistant

    assistant = Assistant(settings, embedder=embedder, llm=fake_llm)
    assistant.index()
    monkeypatch.setattr(cli, "_assistant", lambda: assistant)
    for argv in (["ask", "-450 Millionen Kunden?"], ["ask", "--", "-450 Millionen Kunden?"],
                 ["ask", "--json", "--wie viele Kunden?"]):
        monkeypatch.setattr(sys, "argv", ["qa", *argv])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        out, err = capsys.readouterr()
        assert exit_.value.code == 0, err
        assert out.strip() and "No such option" not in err
    assert '"question": "--wie viele Kunden?"' in out


@pytest.fixture
def own_logging():
    """The CLI configures the root logger; the test's own handlers come back afterwards."""
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield lambda: [handler.flush() for handler in root.handlers]
    logging.captureWarnings(False)
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_library_warnings_go_to_the_log_and_ours_to_the_terminal(tmp_path, capsys, own_logging):
    import logging
    import warnings

    from qa.cli import configure_logging

    configure_logging(tmp_path / "data")
    logging.getLogger("langchain_text_splitters.base").warning("Created a chunk of size 512, which is longer")
    warnings.warn("a library's deprecation", FutureWarning, stacklevel=1)
    logging.getLogger("index.ingest").warning("passwd.txt: skipped")
    own_logging()
    err = capsys.readouterr().err
    assert err == "warning: passwd.txt: skipped\n"
    log = (tmp_path / "data" / "qa.log").read_text(encoding="utf-8")
    assert "Created a chunk of size 512" in log and "a library's deprecation" in log and "passwd.txt" in log


def test_a_data_folder_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    r = run(["info"], tmp_path, QA_PATHS__DATA=str(tmp_path / "file" / "data"))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"error: paths.data: cannot write to {tmp_path}/file/data (Not a directory) "
        "(point paths.data at a writable folder)")


def test_a_bug_is_one_line_and_its_traceback_goes_to_the_log(settings, monkeypatch, capsys, own_logging):
    from qa import cli

    def broken():
        cli.configure_logging(settings.paths.data)
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_assistant", broken)
    monkeypatch.setattr(sys, "argv", ["qa", "ask", "Wer?"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    own_logging()
    log = settings.paths.data / "qa.log"
    assert exit_.value.code == 1
    assert capsys.readouterr().err == f"error: unexpected RuntimeError: boom (this is a bug; the details are in {log})\n"
    assert "Traceback" in log.read_text(encoding="utf-8") and 'raise RuntimeError("boom")' in log.read_text()
