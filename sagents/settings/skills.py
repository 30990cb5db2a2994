"""Settings of skills and session files: where the bundled skills are, how much
of the prompt lists them, how their requirements are installed, and what an
upload (a skill archive, a session's files) may carry.

A new setting about finding, installing or uploading skills, or about
uploads into a session's workspace, goes here; running a script is
``sandbox.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from sagents.settings.parsing import comma_or_json_list


class SkillSettings(BaseModel):
    """Part of ``Settings``."""

    skills_bundled_dir: Path | None = Field(
        default=None, description="The skills shipped with Sage; None finds skill_workspace/."
    )
    skills_prompt_tokens: int = Field(default=1500, ge=50)

    # skill requirements (sagents/skills/environments.py, pip_install.py)
    skill_deps_install: bool = Field(
        default=True,
        description="Install the Python packages a skill lists in requirements.txt (binary "
        "wheels only, at install time, never in the sandbox); false: such a skill is refused "
        "at upload, and one already installed stays usable only if its packages are.",
    )
    skill_deps_index_url: str | None = Field(
        default=None,
        description="Package index for skill requirements; default: what the server's pip "
        "uses (pip.conf, PIP_INDEX_URL).",
    )
    skill_deps_find_links: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Folders or URLs of wheels for skill requirements (pip --find-links), "
        "comma-separated or a JSON list.",
    )
    skill_deps_no_index: bool = Field(
        default=False,
        description="Install skill requirements only from skill_deps_find_links (pip --no-index).",
    )
    skill_deps_timeout_s: float = Field(
        default=300.0, gt=0, description="Longest one skill's pip install may take."
    )
    skill_deps_max_mb: int = Field(
        default=512,
        ge=1,
        description="Largest a skill's installed requirements may be (downloads included).",
    )

    # session files (app/routes/files.py): uploads into a session's workspace
    session_upload_max_bytes: int = Field(
        default=25_000_000,
        ge=1024,
        description="Largest upload request (all its files together) to a session's files; "
        "the workspace as a whole stays within SAGE_SKILL_WORKSPACE_MB.",
    )
    session_upload_max_files: int = Field(
        default=20, ge=1, le=1000, description="Files one upload request may carry."
    )

    # skill uploads (app/routes/skills.py)
    skill_archive_max_bytes: int = Field(
        default=20_000_000,
        ge=1024,
        description="Largest skill archive (.zip/.tar.gz) an upload may send, as uploaded.",
    )
    skill_upload_max_bytes: int = Field(
        default=50_000_000,
        ge=1024,
        description="All files of an uploaded skill archive together, unpacked (counted "
        "on the bytes actually read, not the sizes the archive declares).",
    )
    skill_upload_max_files: int = Field(
        default=5_000,
        ge=1,
        description="Entries in an uploaded skill archive (an archive may hold many skills).",
    )

    @field_validator("skill_deps_find_links", mode="before")
    @classmethod
    def _parse_find_links(cls, value: Any) -> Any:
        """Accept ``a,b`` as well as a JSON list."""
        return comma_or_json_list(value)
