"""pdman.image.reference matches the docker grammar by hand (no `re` on run's path):
each matcher against the regular expression it replaces, on generated strings."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pdman.image import reference as r

ALNUM = r"[a-z0-9]+"
SEPARATOR = r"(?:[._]|__|[-]+)"
PATH_COMPONENT = rf"{ALNUM}(?:{SEPARATOR}{ALNUM})*"
PATH = re.compile(rf"{PATH_COMPONENT}(?:/{PATH_COMPONENT})*")
DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
DOMAIN = re.compile(rf"(?:{DOMAIN_COMPONENT}(?:\.{DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
                    r"(?::[0-9]+)?")
TAG = re.compile(r"[\w][\w.-]{0,127}")
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")

# alphabets that reach every branch: the grammar's characters, and a few outside it
GRAMMAR = "ab09Z._-/:[]+="
ODD = "é٣_ \t@Ⅻ²"
texts = st.text(alphabet=GRAMMAR, max_size=24) | st.text(alphabet=GRAMMAR + ODD, max_size=24) \
    | st.text(max_size=12)


@settings(max_examples=3000, deadline=None)
@given(texts)
@example("a__b")
@example("a___b")
@example("a-._b")
@example("a._b")
@example("a--b/c.d")
@example("")
@example("[::1]:5000")
@example("[]")
@example("[::1]")
@example("host:")
@example("a.-b")
def test_path_and_domain(text: str) -> None:
    assert r._is_path(text) == bool(PATH.fullmatch(text)), text
    assert r._is_domain(text) == bool(DOMAIN.fullmatch(text)), text


@settings(max_examples=3000, deadline=None)
@given(texts | st.text(alphabet="a_.-٣Ⅻé", min_size=120, max_size=135))
@example("_")
@example("-a")
@example("a" * 128)
@example("a" * 129)
@example("²")
def test_tag(text: str) -> None:
    assert r._is_tag(text) == bool(TAG.fullmatch(text)), text


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab9.+_-:", max_size=10), st.text(alphabet="aZ9=_-:", min_size=30,
                                                          max_size=70))
@example("sha256", "a" * 64)
@example("a..b", "a" * 32)
@example("a.b", "a" * 31)
def test_digest(algorithm: str, encoded: str) -> None:
    for text in (f"{algorithm}:{encoded}", algorithm + encoded):
        assert r._is_digest(text) == bool(DIGEST.fullmatch(text)), text


def test_run_path_parsing_does_not_import_re() -> None:
    import subprocess
    import sys

    code = ("import sys; from pdman.image.reference import parse; "
            "parse('127.0.0.1:5000/team/app:1.2'); parse('nginx'); print('re' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
