"""Settings of people in the loop: how long a call waits for a person's
decision, how a waiting run hears of one taken on another replica, and
which calls must wait (``sagents/runs/approvals.py``).

A new setting about approvals, plan checkpoints or input requests goes here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApprovalSettings(BaseModel):
    """Part of ``Settings``."""

    approval_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="How long a tool call that needs approval waits for a decision; "
        "then it is rejected and the model is told no one answered.",
    )
    approval_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="How often a waiting run checks the store for a decision taken on "
        "another replica (a decision taken on its own replica wakes it at once).",
    )
    skill_scripts_require_approval: bool = Field(
        default=False,
        description="Every run_skill_script call waits for a person's approval.",
    )
