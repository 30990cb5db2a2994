"""Level 1 of progressive disclosure: skill names and descriptions in the prompt.

Only ``name: description`` lines go into the system prompt, never a body or
a file, so a large skill library costs a few tokens per skill until one is
loaded. When even that does not fit the token budget, the skills most
relevant to the request (BM25 over name and description) are kept, and the
text says how many were left out.
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
    """The skills section of a system prompt, within ``token_budget`` tokens.

    Empty when the user has no skills or the budget cannot hold the header
    and one skill. Lines are listed by relevance when some had to be left
    out, by name otherwise (a stable prompt keeps provider caches warm).
    """
    skills = list(view)
    if not skills:
        return ""
    count = (counter or EstimateCounter()).count
    lines = [skill_line(s) for s in skills]
    full = HEADER + "".join(lines)
    if count(full) <= token_budget:
        return full
    kept: list[Skill] = []
    used = count(HEADER) + count("(00 more skills not shown)\n")
    for skill in rank_skills(skills, request_text):
        cost = count(skill_line(skill))
        if used + cost > token_budget:
            continue
        kept.append(skill)
        used += cost
    if not kept:
        return ""
    omitted = len(skills) - len(kept)
    return HEADER + "".join(skill_line(s) for s in kept) + f"({omitted} more skills not shown)\n"
