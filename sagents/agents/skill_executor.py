"""SkillExecutorAgent: decides whether one of the user's skills fits the
request, and equips the agent after it (SimpleAgent) to use skills.

Progressive disclosure: the names and descriptions (level 1) go into the
system prompt; when a skill fits, its body (level 2) is loaded into the
prompt too, and ``load_skill`` / ``read_skill_file`` / ``run_skill_script``
(levels 2–3) join the run's tools, so files and scripts are only reached on
demand. Safe default when the model answers badly or names a skill that does
not exist: no skill is preloaded, but the tools and the list stay available.
With skill selection off (``SAGE_SKILL_SELECTION=false`` or the request's
``skill_selection: false``) the choosing call is skipped and the model finds
skills itself through the list and ``load_skill``: one LLM call less per run,
which matters with a small local model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sagents.agents.deciding import Decision, decide
from sagents.agents.prompts import user_turn
from sagents.context.session_context import SessionContext
from sagents.events import EventBase, SkillSelected
from sagents.skills import SkillSelection, level1_prompt, proxy_with, skill_tools

PROMPT = """Decide whether one of the skills below clearly fits the user's request.
A skill fits when its description matches what the user asks for; otherwise
answer use_skill false. Skills:
{skills}"""


class SkillExecutorAgent:
    name = "skill_executor"
    role = "skill_select"

    async def run(self, ctx: SessionContext) -> AsyncIterator[EventBase]:
        view, manager = ctx.prompt.skill_view, ctx.skills
        if view is None or manager is None or not len(view):
            return
        listing = level1_prompt(view, ctx.user_input, ctx.settings.skills_prompt_tokens)
        out: Decision[SkillSelection] = Decision()
        if ctx.options.skill_selection is not False:
            async for event in decide(
                ctx,
                role=self.role,
                messages=user_turn(ctx, PROMPT.format(skills=listing)),
                schema=SkillSelection,
                fallback=SkillSelection(use_skill=False, reason="fallback"),
                fallback_note="No skill was preloaded",
                out=out,
            ):
                yield event
        ctx.tools = proxy_with(ctx.tools, skill_tools(view, manager.workspace(ctx.session_id)))
        prompt = f"You have skills. Use load_skill to read one before following it.\n{listing}"
        chosen = out.value.chosen(view) if out.value else None
        skill = view.get(chosen) if chosen else None
        if skill is not None:
            prompt += (
                f"\n\nThe skill '{skill.name}' fits this request. Its instructions:\n"
                f'<skill name="{skill.name}">\n{skill.body}\n</skill>\n'
                "Its files and scripts are reachable with read_skill_file and run_skill_script."
            )
            yield SkillSelected(skill=skill.name, level=2)
        ctx.prompt.skill_prompt = prompt
