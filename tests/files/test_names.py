"""Paths and upload names from clients and models: what is refused, what is
sanitised, and the media types a download may keep."""

from __future__ import annotations

import pytest

from sagents.files import BadPath, check_path, sanitise_name
from sagents.files.media import served_as


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "..",
        "a/../b",
        "a//b",
        "./a",
        "a/./b",
        "a\\b",
        "a\x00b",
        "a\nb",
        ".tmp/x",
        "x" * 256,
        "/".join(["d"] * 65),
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(BadPath):
        check_path(path)


def test_good_paths_are_normalised() -> None:
    assert check_path("/inbox/data.csv/") == "inbox/data.csv"
    assert check_path(".env") == ".env" and check_path("ünï/cödé.txt") == "ünï/cödé.txt"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("  notes\u202e.txt ", "notes.txt"),
        ("a" * 300 + ".csv", "a" * 251 + ".csv"),
    ],
)
def test_upload_names_are_sanitised(given: str, stored: str) -> None:
    assert sanitise_name(given) == stored


@pytest.mark.parametrize("given", ["", "..", "dir/", "\x01\x02"])
def test_names_with_nothing_usable_are_refused(given: str) -> None:
    with pytest.raises(BadPath):
        sanitise_name(given)


def test_only_passive_types_are_served_as_themselves() -> None:
    assert served_as("a.csv") == "text/csv; charset=utf-8"
    assert served_as("a.png") == "image/png"
    for active in ("a.html", "a.svg", "a.js", "a.xml", "a.xhtml", "noext"):
        assert served_as(active) == "application/octet-stream", active
