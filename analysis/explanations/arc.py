"""Explanations of the arc findings (filled in with the mechanism)."""

from __future__ import annotations

from . import Explanation

_E = Explanation

ENTRIES: tuple[Explanation, ...] = ()
