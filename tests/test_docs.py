"""Documents generated from code stay in step with it."""

from pathlib import Path

from transforms.config import describe

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_options_document_lists_every_option():
    doc = (DOCS / "options.md").read_text()
    assert describe() in doc, "docs/options.md is stale: regenerate its table from describe()"
