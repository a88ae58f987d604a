"""Helpers of the adversarial suite (tests/adversarial): tiny data, an in-process CLI, tree
hashes.

Every case runs a command the way a careless or hostile user would and checks four things:
the exit code, one ``error:`` line naming the file/row/rule, no traceback, and that no input
or earlier output changed (hashes of the trees before and after).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from typer.testing import CliRunner, Result

from seemingly.cli import app

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> dict[str, str]:
    """The README's minimal example, byte for byte: the three csv blocks after its intro."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("A minimal example (`mydata/products.csv`")
    blocks = re.findall(r"```csv\n(.*?)```", text[start:], flags=re.S)[:3]
    return dict(zip(("products.csv", "offers.csv", "judgments.csv"), blocks, strict=True))


def write_data(folder: Path, files: dict[str, str | bytes | None] | None = None) -> Path:
    """The README example in ``folder``, with ``files`` replacing (None: removing) files."""
    folder.mkdir(parents=True, exist_ok=True)
    content: dict[str, str | bytes | None] = {**readme_example(), **(files or {})}
    for name, body in content.items():
        if body is None:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
    return folder


def tree_hash(*roots: Path) -> dict[str, str]:
    """Every entry under ``roots`` (links as links, never followed) -> its content hash."""
    out: dict[str, str] = {}
    for root in roots:
        if root.is_symlink():
            out[str(root)] = "link:" + os.readlink(root)
            continue
        if root.is_file():
            out[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        if not root.exists():
            out[str(root)] = "absent"
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            for name in sorted(dirnames + filenames):
                p = Path(dirpath) / name
                if p.is_symlink():
                    out[str(p)] = "link:" + os.readlink(p)
                elif p.is_file():
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
                else:
                    out[str(p)] = "dir"
    return out


def invoke(args: Iterable[object]) -> Result:
    """Run the CLI in-process (no interpreter start per case)."""
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_refused(result: Result, code: int, pattern: str) -> str:
    """Exit ``code``, no traceback, and exactly one ``error:`` line matching ``pattern``."""
    output = result.output
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception), output)
    assert result.exit_code == code, (result.exit_code, output)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert re.search(pattern, errors[0]), (pattern, errors[0])
    return errors[0]
