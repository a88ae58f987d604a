"""The adversarial suite: bad inputs a careless or hostile user would give (issue 22).

Helpers live in ``support.adversarial``; this file prints the count of cases in the terminal
summary.
"""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many adversarial cases ran (the issue asks for the count)."""
    stats = terminalreporter.stats
    n = sum(
        1
        for key in ("passed", "failed", "xfailed", "xpassed")
        for rep in stats.get(key, [])
        if getattr(rep, "when", "call") == "call" and "tests/adversarial/" in rep.nodeid
    )
    if n:
        terminalreporter.write_line(f"adversarial cases: {n}")
