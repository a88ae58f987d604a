"""``python -m seemingly.cli``: the same as the ``seemingly`` command."""

from seemingly.cli import main

main()
