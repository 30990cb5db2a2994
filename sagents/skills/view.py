"""What one user can see of the skills: the merged layers, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sagents.skills.format import Skill


@dataclass(frozen=True, slots=True)
class SkillView:
    """The skills visible to ``user_id``, by name, already merged.

    Built by ``SkillManager.for_user``: a user's own skill shadows an
    installation or bundled one of the same name, for that user only. A view
    is a snapshot; installing or deleting a skill makes the next view differ
    but leaves a run's view alone, so one run sees one consistent set.
    """

    user_id: str
    skills: dict[str, Skill]

    def get(self, name: str) -> Skill | None:
        return self.skills.get(name)

    @property
    def names(self) -> list[str]:
        return sorted(self.skills)

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.skills[name] for name in self.names)

    def __len__(self) -> int:
        return len(self.skills)

    def __contains__(self, name: object) -> bool:
        return name in self.skills

    def usable(self) -> SkillView:
        """The skills a run may use: those whose requirements are installed."""
        return SkillView(
            user_id=self.user_id, skills={n: s for n, s in self.skills.items() if s.usable}
        )

    def only(self, names: list[str]) -> SkillView:
        """The part of this view a run's ``available_skills`` allows."""
        allowed = set(names)
        return SkillView(
            user_id=self.user_id, skills={n: s for n, s in self.skills.items() if n in allowed}
        )
