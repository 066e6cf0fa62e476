"""Errors meant for people, not for tracebacks."""


class RevalignError(Exception):
    """A problem the user can fix; its message is shown as one line."""

    exit_code = 1


class ConfigError(RevalignError):
    """A missing or malformed setting."""

    exit_code = 2


class DatabaseNotReady(RevalignError):
    """The database is missing tables or is behind the code's migrations."""

    exit_code = 2


class PermissionDenied(RevalignError):
    """The Slack user's role does not allow the action."""


class NotFound(RevalignError):
    pass


class InvalidInput(RevalignError):
    pass
