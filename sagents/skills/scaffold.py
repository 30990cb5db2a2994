"""``sage skills new``: a minimal, valid skill folder to start from."""

from __future__ import annotations

from pathlib import Path

from sagents.skills.format import SKILL_FILE, SkillInvalid, check_name

SKILL_TEMPLATE = """---
name: {name}
description: Describe what this skill does and when to use it (at most 1024 characters).
license: Apache-2.0
---
# {title}

Write the instructions the agent follows once it loads this skill.

1. Say which script to run and with which arguments, e.g.
   `run_skill_script("{name}", "main.py", ["--help"])`.
2. Scripts run in a sandbox with no network, and only the session workspace
   (the current directory) is writable. They get the Python standard library
   and the packages listed in this folder's `requirements.txt` (installed
   when the skill is installed).
3. Put longer reference material in `references/` and read it with
   `read_skill_file` only when needed.
"""

SCRIPT_TEMPLATE = '''"""Entry point of the {name} skill."""

import sys


def main(argv):
    print("hello from {name}:", " ".join(argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''


def scaffold_skill(parent: Path, name: str) -> Path:
    """Create ``parent/name`` with SKILL.md, scripts/main.py, references/, assets/."""
    problems = check_name(name, SKILL_FILE, None)
    if problems:
        raise SkillInvalid(problems)
    folder = parent / name
    if folder.exists():
        raise FileExistsError(f"{folder} already exists")
    (folder / "scripts").mkdir(parents=True)
    (folder / "references").mkdir()
    (folder / "assets").mkdir()
    title = name.replace("-", " ").capitalize()
    (folder / SKILL_FILE).write_text(SKILL_TEMPLATE.format(name=name, title=title))
    (folder / "scripts" / "main.py").write_text(SCRIPT_TEMPLATE.format(name=name))
    return folder
