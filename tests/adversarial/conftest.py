"""The adversarial suite: bad inputs a careless or hostile user would give (issue 22).

Helpers live in ``support.adversarial``; tests/conftest.py prints the count of cases in the terminal
summary (a hook here would not run in pytest-xdist's controller, which collects nothing).
"""

from __future__ import annotations
