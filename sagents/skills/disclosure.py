"""Level 1 of progressive disclosure: skill names and descriptions in the prompt.

Only names and descriptions go into the system prompt, never a body or a
file, so a large skill library costs a few tokens per skill until one is
loaded. Every name is always listed; when the descriptions do not all fit
the token budget, those of the skills most relevant to the request (BM25
over name and description) are kept and the others are named only.
"""

from __future__ import annotations

from rank_bm25 import BM25Okapi

from sagents.context.bm25 import tokenize
from sagents.context.tokens import EstimateCounter, TokenCounter
from sagents.skills.format import Skill
from sagents.skills.view import SkillView

HEADER = (
    "Skills are available. Each is a folder of instructions and scripts for one kind of "
    "task. When one fits the request, call load_skill with its name to read its "
    "instructions before acting; then use read_skill_file and run_skill_script as they say.\n"
)


def skill_line(skill: Skill) -> str:
    return f"- {skill.name}: {' '.join(skill.description.split())}\n"


def rank_skills(skills: list[Skill], request_text: str) -> list[Skill]:
    """Skills ordered by BM25 relevance to the request; ties keep name order."""
    if len(skills) < 2:
        return list(skills)
    corpus = [tokenize(f"{s.name.replace('-', ' ')} {s.description}") or ["_"] for s in skills]
    scores = BM25Okapi(corpus).get_scores(tokenize(request_text))
    order = sorted(range(len(skills)), key=lambda i: (-float(scores[i]), skills[i].name))
    return [skills[i] for i in order]


def level1_prompt(
    view: SkillView,
    request_text: str,
    token_budget: int,
    counter: TokenCounter | None = None,
) -> str:
    """The skills section of a system prompt: every name, descriptions within budget.

    A model cannot choose a skill it never sees, so every name is listed,
    whatever the budget. The budget decides how many descriptions come
    with them: all of them when they fit (by name: a stable prompt keeps
    provider caches warm); otherwise the skills most relevant to the
    request get theirs, most relevant first, and the rest are listed by
    name on one line, for ``load_skill`` to show what they do. Empty only
    when the user has no skills.
    """
    skills = list(view)
    if not skills:
        return ""
    count = (counter or EstimateCounter()).count
    full = HEADER + "".join(skill_line(s) for s in skills)
    if count(full) <= token_budget:
        return full
    described: list[Skill] = []
    rest = {s.name for s in skills}
    used = count(HEADER) + count(_names_line(sorted(rest)))
    for skill in rank_skills(skills, request_text):
        cost = count(skill_line(skill)) - count(f"{skill.name}, ")
        if used + cost > token_budget:
            continue
        described.append(skill)
        rest.discard(skill.name)
        used += cost
    text = HEADER + "".join(skill_line(s) for s in described)
    return text + _names_line(sorted(rest)) if rest else text


def _names_line(names: list[str]) -> str:
    return f"Also available (call load_skill to see what each does): {', '.join(names)}\n"
