"""Prints the news suite's PDF article from its HTML source with Debian's chromium (as a reader's browser
would), so the PDF in the corpus can be rebuilt: `python eval/suites/news/make_pdf.py`."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
SOURCES = {"sources/nordalp-one-year-on.html": "corpus/alpine-transport-review-nordalp-one-year-on.pdf"}


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        for source, dest in SOURCES.items():
            page.goto((HERE / source).as_uri())
            page.pdf(
                path=str(HERE / dest),
                format="A5",
                margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template='<div style="font-size:8pt;width:100%;text-align:center">'
                '<span class="pageNumber"></span></div>',
            )
        browser.close()


if __name__ == "__main__":
    main()
