"""AG-UI (the Agent-User Interaction protocol) over Sage's runs.

``input`` reads a ``RunAgentInput`` into a Sage run request; ``mapper`` turns
Sage's events into AG-UI events in a legal order. The table of the mapping
is docs/agui.md; the route is ``app.routes.agui``.
"""
