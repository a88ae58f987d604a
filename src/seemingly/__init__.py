"""seemingly: why do people buy seemingly irrelevant items in product search?"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
