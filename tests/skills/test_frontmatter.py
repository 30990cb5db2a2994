"""Front matter as untrusted input: bombs, tags and types that JSON cannot carry."""

from __future__ import annotations

import json

import pytest

from sagents.skills.format import parse_skill_text
from sagents.skills.frontmatter import MAX_DEPTH, FrontMatterError, load_front_matter
from tests.skills.archives import billion_laughs

HEAD = "name: bomb\ndescription: d\n"


def problems_of(front: str) -> list[str]:
    _, _, problems = parse_skill_text(f"---\n{front}\n---\nbody\n", folder="bomb")
    return [str(p) for p in problems if p.is_error]


def test_alias_bomb_is_refused_at_once() -> None:
    front = HEAD + "metadata:\n  " + billion_laughs(9).replace("\n", "\n  ")
    assert len(front) < 1000  # would expand to 10^8 strings
    assert problems_of(front) == ["SKILL.md: front matter (line 6): aliases (*a0) are not allowed"]


def test_a_single_alias_is_refused_and_an_anchor_alone_is_fine() -> None:
    assert "aliases" in problems_of(HEAD + "license: &l MIT\ncompatibility: *l")[0]
    assert problems_of(HEAD + "license: &l MIT") == []


@pytest.mark.parametrize(
    "front",
    [
        HEAD + "x: " + "[" * 20_000,
        HEAD + "x: " + "{a: " * 10_000,
        HEAD + "x:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 60)),
        HEAD + "x:\n" + "".join(" " * i + "- \n" for i in range(1, 60)),
    ],
    ids=["flow-seq", "flow-map", "block-map", "block-seq"],
)
def test_deep_nesting_is_refused_without_recursion_error(front: str) -> None:
    problems = problems_of(front)
    assert len(problems) == 1 and f"more than {MAX_DEPTH} levels" in problems[0]


def test_nesting_within_the_bound_is_fine() -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert problems_of(HEAD + f"x: {nested}") == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!python/object:os.system x", "!!python/object:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
        ("!!timestamp 2024-01-01", "!!timestamp"),
        ("!local thing", "!local"),
    ],
)
def test_tags_outside_json_are_refused_by_name(value: str, shown: str) -> None:
    problems = problems_of(HEAD + f"metadata:\n  k: {value}\nx: {value}")
    assert len(problems) == 1
    assert f"the tag {shown} is not allowed" in problems[0]


def test_values_become_json_compatible() -> None:
    data = load_front_matter(
        "released: 2024-01-01\n"
        "when: 2024-01-01 10:00:00\n"
        "1: one\n"
        "true: yes-key\n"
        "null: k\n"
        "<<: {merged: no}\n"
        "n: 12\n"
        "f: 1.5\n"
        "b: true\n"
        "metadata:\n  version: 1.10\n  beta: yes\n  count: 3\n  none: ~\n  list: [1, 2]\n",
        string_maps=("metadata",),
    )
    assert data == {
        "released": "2024-01-01",
        "when": "2024-01-01 10:00:00",
        "1": "one",
        "true": "yes-key",
        "null": "k",
        "<<": {"merged": False},
        "n": 12,
        "f": 1.5,
        "b": True,
        "metadata": {
            "version": "1.10",
            "beta": "yes",
            "count": "3",
            "none": "~",
            "list": [1, 2],
        },
    }
    json.dumps(data, allow_nan=False)  # exactly what the API's JSON encoder accepts


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("? [a, b]\n: c", "keys must be plain text"),
        ("? {a: 1}\n: c", "keys must be plain text"),
        ("x: .nan", "not a finite number"),
        ("x: [-.inf]", "not a finite number"),
        ("x: 1.0e+999", "not a finite number"),
        ("x: " + "9" * 5000, "cannot be read"),
        ("x: " + "y" * 70_000, "longer than"),
        ("x: [unclosed", "not valid YAML"),
        ("a: 1\n---\nb: 2", "not valid YAML"),
    ],
)
def test_other_bad_front_matter_is_a_problem_not_a_crash(front: str, expected: str) -> None:
    with pytest.raises(FrontMatterError) as info:
        load_front_matter(front)
    assert expected in info.value.message
    problems = problems_of(HEAD + front) if not front.startswith("a: 1\n---") else ["x"]
    assert len(problems) == 1


def test_huge_but_bounded_scalars_are_fine() -> None:
    big = "y" * 60_000
    data = load_front_matter(f"x: {big}\nn: {'9' * 4000}")
    assert data["x"] == big and data["n"] > 10**3999
