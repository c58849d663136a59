"""The one vocabulary of verdict words every report uses.

It lives at the bottom of the package so the interval helper can return a
word and the report layer re-exports the same enum: there is one list.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """How a target came out; the only words a verdict cell starts with."""

    MET = "met"
    MISSED = "missed"
    INCONCLUSIVE = "inconclusive"
    """The measurement cannot decide (an interval straddles the goal)."""
    NOT_TESTABLE = "not testable"
    """The target's premise failed in this run, whatever the measured value."""
    NOT_MEASURED = "not measured"
    NOT_REACHED = "not reached"
    DIVERGED = "diverged"
    NOT_APPLICABLE = "not applicable"
    QUOTED = "quoted (no goal)"
    """A figure reported as measured, with no goal to judge it against."""


__all__ = ["Verdict"]
