"""The one error family of labelkit: each boundary (page, CLI, HTTP) turns these into a message."""

from __future__ import annotations


class LabelkitError(Exception):
    """Something a person can act on; the message says what and, where it helps, how."""


class NotFound(LabelkitError):
    pass


class PermissionDenied(LabelkitError):
    pass


class NotSignedIn(PermissionDenied):
    pass


class Conflict(LabelkitError):
    pass


class InvalidInput(LabelkitError):
    """Bad input; `issues` lists the individual problems (e.g. one per row)."""

    def __init__(self, message: str, issues: list[str] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []

    def __str__(self) -> str:
        base = super().__str__()
        if not self.issues:
            return base
        shown = "; ".join(self.issues[:5])
        more = f" (and {len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        return f"{base}: {shown}{more}"
