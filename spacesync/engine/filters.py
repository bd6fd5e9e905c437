"""``--include``/``--exclude``: which relative keys a sync considers, as ``aws s3`` does.

Every key is included unless a rule says otherwise; the rules are read in the order given
and the last one that matches decides. Patterns are shell globs matched against the key
relative to the sync's root ('/' separated), where ``*`` and ``?`` also match '/'.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

INCLUDE = "include"
EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class FilterRule:
    kind: str  # INCLUDE or EXCLUDE
    pattern: str


class PathFilter:
    """An ordered list of rules, compiled once: a sync asks about every key."""

    def __init__(self, rules: Iterable[FilterRule] = ()) -> None:
        self.rules = tuple(rules)
        for rule in self.rules:
            if rule.kind not in (INCLUDE, EXCLUDE):
                raise ValueError(f"unknown filter kind {rule.kind!r}")
        self._compiled = [
            (rule.kind == INCLUDE, re.compile(fnmatch.translate(rule.pattern)))
            for rule in self.rules
        ]

    def includes(self, key: str) -> bool:
        """True when the last rule matching ``key`` is an include, or none matches."""
        for included, pattern in reversed(self._compiled):
            if pattern.match(key):
                return included
        return True
