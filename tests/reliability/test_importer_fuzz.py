"""Hypothesis fuzzing of the landscape2 importer: malformed structures, wrong types, huge
strings and odd unicode give a LandscapeFormatError with a message that says where, or a
clean import; never another exception, and never a half-written database."""

from __future__ import annotations

import copy
import math
import os

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from projects.landscape_yml import LandscapeFormatError, parse_landscape
from projects.models import Category, Project, SecondaryCategory
from projects.services import landscape_import

pytestmark = pytest.mark.faults
# More for a long local run: FUZZ_EXAMPLES=5000 pytest tests/reliability/test_importer_fuzz.py
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

ODD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40
)
SPECIAL = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\u202etxt.exe",  # right-to-left override
        "\u200b",  # zero-width space
        "\ud800",  # a lone surrogate (YAML writes it as an escape)
        "🔥" * 50,
        "Ā" * 300,
        "x" * 100_000,
        "https://",
        "https://user:pw@example.com/",
        "javascript:alert(1)",
        "../../etc/passwd",
        "a/b",
        "2024-02-30",
        "Category / Sub",
        "&anchor",
        "*alias",
        "{{ template }}",
        "<script>alert(1)</script>",
    ]
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    SPECIAL,
    st.lists(st.one_of(st.none(), st.integers(), ODD_TEXT, SPECIAL), max_size=3),
    st.dictionaries(ODD_TEXT, st.one_of(st.none(), st.integers(), ODD_TEXT), max_size=3),
)


def base_document() -> dict:
    item = {
        "item": None,
        "name": "Alpha",
        "homepage_url": "https://alpha.example/",
        "repo_url": "https://github.com/acme/alpha",
        "description": "Trains models.",
        "project": "graduated",
        "logo": "alpha.svg",
        "twitter": "https://twitter.com/alpha",
        "crunchbase": "https://www.crunchbase.com/organization/alpha",
        "joined": "2023-01-02",
        "enduser": False,
        "organization": {"name": "Acme"},
        "additional_repos": [{"repo_url": "https://github.com/acme/alpha-extras"}],
        "second_path": ["Modeling / Vision"],
        "extra": {
            "accepted": "2023-01-02",
            "summary_tags": "training,fast",
            "other_links": [{"name": "Blog", "url": "https://alpha.example/blog"}],
            "package_manager_url": "https://pypi.org/project/alpha",
        },
    }
    beta = {"item": None, "name": "Beta", "homepage_url": "https://beta.example/"}
    return {
        "landscape": [
            {
                "category": None,
                "name": "Training",
                "subcategories": [
                    {"subcategory": None, "name": "General", "items": [item, beta]},
                ],
            },
            {
                "category": None,
                "name": "Modeling",
                "subcategories": [{"subcategory": None, "name": "Vision", "items": []}],
            },
        ]
    }


def paths(value, prefix=()):
    """Every place in the document a value can be replaced."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def replaced(document, path, junk):
    if not path:
        return junk
    document = copy.deepcopy(document)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = junk
    return document


@st.composite
def mutated_documents(draw) -> str:
    document = base_document()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = list(paths(document))
        path = draw(st.sampled_from(candidates))
        document = replaced(document, path, draw(JUNK))
    if draw(st.booleans()) and isinstance(document, dict):
        # An extra key anywhere at the top, as a hand-edited file may have.
        document[draw(ODD_TEXT) or "x"] = draw(JUNK)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def database_state():
    return (
        sorted(Category.objects.values_list("slug", "name", "parent_id", "position")),
        sorted(
            Project.objects.values_list(
                "slug", "name", "description", "homepage_url", "repo_url", "maturity", "updated"
            )
        ),
        SecondaryCategory.objects.count(),
    )


def assert_clear(error: LandscapeFormatError) -> None:
    message = str(error)
    assert message.strip(), "an empty error message"
    assert "Traceback" not in message
    assert len(message) < 2000, "the message must stay readable, even for a huge value"


@settings(max_examples=3 * EXAMPLES, deadline=None, database=None)
@given(
    text=st.one_of(
        mutated_documents(),
        ODD_TEXT,
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.sampled_from(["", "---", "landscape:", "landscape: 3", "[1, 2", "a: &x [*x]", "? "]),
    )
)
def test_parsing_any_text_gives_data_or_a_clear_error(text):
    try:
        parse_landscape(text)
    except LandscapeFormatError as error:
        assert_clear(error)


ITEM = ("landscape", 0, "subcategories", 0, "items", 0)


def regression(path: tuple, value) -> str:
    """A document the fuzzer once found crashing the importer (now a clear error)."""
    return yaml.safe_dump(replaced(base_document(), path, value), sort_keys=False)


@pytest.mark.django_db
@example(text=regression((*ITEM, "organization"), None))  # was a TypeError
@example(text=regression((*ITEM, "description"), "a\x00b"))  # NUL: PostgreSQL refuses it
@example(text=regression((*ITEM, "description"), "\ud800"))  # a lone surrogate
@example(text=regression((*ITEM, "organization"), {"name": "x" * 300}))  # DataError
@example(text=regression((*ITEM, "branch"), "b" * 300))  # DataError
@example(text=regression(("landscape", 0, "name"), "C" * 300))  # DataError
@example(text=regression((*ITEM, "name"), "n" * 100_000))  # a 100 KB error message
@example(  # .inf in a JSON column: PostgreSQL refused it (a DataError)
    text=regression((*ITEM, "extra"), {"other_links": [{"name": math.inf, "url": "https://a.b/"}]})
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated_documents())
def test_importing_a_malformed_file_changes_nothing(text):
    landscape_import(text=yaml.safe_dump(base_document(), sort_keys=False))
    before = database_state()
    try:
        landscape_import(text=text)
    except LandscapeFormatError as error:
        assert_clear(error)
        assert database_state() == before


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_an_infinite_or_nan_number_is_named_with_its_path(number):
    text = regression((*ITEM, "extra"), {"other_links": [{"name": number, "url": "https://a.b/"}]})
    with pytest.raises(
        LandscapeFormatError, match=r"extra\.other_links\[0\]\.name is \.inf or \.nan"
    ):
        parse_landscape(text)
