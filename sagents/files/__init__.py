"""Session files: what a person uploads to a session and downloads from it,
the same folder the session's scripts and ``execute_python`` work in."""

from sagents.files.names import BadPath, check_path, sanitise_name
from sagents.files.store import (
    FileConflict,
    FileInfo,
    FileNotInWorkspace,
    SessionFiles,
    Upload,
    WorkspaceFull,
)

__all__ = [
    "BadPath",
    "FileConflict",
    "FileInfo",
    "FileNotInWorkspace",
    "SessionFiles",
    "Upload",
    "WorkspaceFull",
    "check_path",
    "sanitise_name",
]
