"""The README's command table is the measure's, regenerated."""

from __future__ import annotations

from tests.compat import readme_table


def test_readme_table_is_current() -> None:
    text = readme_table.README.read_text()
    assert readme_table.rewrite(text, readme_table.render()) == text, (
        "run `python -m tests.compat.readme_table` and commit")
