"""The one exception type that the command line turns into a single clear line and exit code 2.

Library code raises `UserError` for anything the user can fix (a bad argument, a missing or
corrupt file, data that cannot be reached). Everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line, exit code 2."""


class WriteError(UserError):
    """An output could not be written (disk full, no permission, name too long): one line, exit 2."""
