"""User-facing errors.

A :class:`UserError` is a mistake the user can fix (a bad name, a missing
file, an impossible split). The command line prints its message without a
traceback and exits with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the user's input, reported as a message and exit status 2."""


class NotApplicable(UserError):
    """A benchmark this machine cannot run (e.g. it needs more GPUs than there are).

    A suite run records it as ``not_applicable``, not as a failure, so it does
    not make ``dnibench run`` exit 3; the message says what is missing."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UserError:
    """Build the error for an unknown ``kind`` name, listing the valid ones.

    A close match is suggested, since most unknown names are typos.
    """
    options = sorted(valid)
    close = difflib.get_close_matches(name, options, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UserError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(options)}.{hint}")
