"""Why a request cannot become a run: errors the HTTP layer turns into
clear 4xx answers (404 for a session that is not the user's, 422 for names
that do not exist)."""

from __future__ import annotations


class SessionNotFound(LookupError):
    """No such session for this user (another user's session looks the same)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session '{session_id}' not found")
        self.session_id = session_id


class UnknownNames(ValueError):
    """The request names tools or skills that do not exist (for this user)."""

    def __init__(self, kind: str, names: list[str], available: list[str]) -> None:
        listed = ", ".join(sorted(available)) if available else "none"
        super().__init__(
            f"unknown {kind} in available_{kind}: {', '.join(sorted(names))} (available: {listed})"
        )
        self.names = names


class UnknownTools(UnknownNames):
    def __init__(self, names: list[str], available: list[str]) -> None:
        super().__init__("tools", names, available)


class UnknownSkills(UnknownNames):
    def __init__(self, names: list[str], available: list[str]) -> None:
        super().__init__("skills", names, available)
