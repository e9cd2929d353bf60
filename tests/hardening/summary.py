"""The hardening suite's summary line: what was tried, and whether anything was lost.

Tests record each bad input, attack and fault they try, and each check of what the database and the image
store hold, with the `tally` fixture: entries in their reports' user_properties, which xdist sends from its
workers to the controller. This plugin adds them up wherever the reports arrive and prints, e.g.

    hardening: 48 bad inputs (180 tries), 41 attacks (350 tries), 6 faults (8 tries); 240 storage checks,
    nothing lost

tests/conftest.py registers it: under xdist the controller runs no test, so it never loads
tests/hardening/conftest.py, and a hook there would print nothing.
"""

from __future__ import annotations

import collections

import pytest

KEY = "hardening"
CATEGORIES = {"bad_input": "bad inputs", "attack": "attacks", "fault": "faults"}
STORAGE_CHECK = "storage_check"


class Tally:
    """What one test tried, kept in its report (see the module docstring)."""

    def __init__(self, item: pytest.Item):
        self._item = item

    def tried(self, category: str, name: str, times: int = 1) -> None:
        """`times` tries of the bad input, attack or fault called `name`."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; one of {sorted(CATEGORIES)}")
        self._item.user_properties.append((KEY, (category, name, times)))

    def checked_storage(self, times: int = 1) -> None:
        """Rows and files were compared with what they must be, and matched."""
        self._item.user_properties.append((KEY, (STORAGE_CHECK, "", times)))


class Summary:
    def __init__(self):
        self.tries: collections.Counter[str] = collections.Counter()
        self.kinds: dict[str, set[str]] = collections.defaultdict(set)
        self.ran: set[str] = set()
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if KEY not in report.keywords:
            return
        self.ran.add(report.nodeid)
        if report.failed:
            self.failed.add(report.nodeid)
        if report.when != "teardown":  # each phase's report carries the entries so far: count them once
            return
        for key, (category, name, times) in report.user_properties:
            if key == KEY:
                self.tries[category] += times
                if name:
                    self.kinds[category].add(name)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.ran:
            return
        tried = ", ".join(
            f"{len(self.kinds[category])} {label} ({self.tries[category]} tries)"
            for category, label in CATEGORIES.items()
        )
        if self.failed:
            verdict = f"{len(self.failed)} hardening test(s) FAILED, see above"
        else:
            verdict = f"{self.tries[STORAGE_CHECK]} storage checks, nothing lost"
        terminalreporter.write_sep("-", "hardening")
        terminalreporter.write_line(f"hardening: {tried}; {verdict}")
