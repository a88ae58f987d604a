"""Owned, atomic outputs: how every command writes a folder or a file.

A run never writes into its target. It writes a temporary sibling (``.NAME.partial-PID``) and
swaps it in when everything is written, so a failed, killed or interrupted run leaves the
previous output as it was, and a reader never sees old and new files side by side. A folder
carries a marker (:data:`MARKER`) naming what wrote it; a command replaces only a target that
it wrote (or that holds nothing but its own file names), never a user's file or folder. A lock
file beside the target makes a second run into the same target fail at once. Nothing here
follows a symlink: a target that is one is refused, and the fresh folder holds no links.

>>> with output_dir("out/run", writer="analyze") as tmp:  # doctest: +SKIP
...     (tmp / "results.json").write_text("{}")
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from seemingly.errors import ContractError, OutputError, OutputExistsError

__all__ = [
    "MARKER",
    "check_complete",
    "check_file_target",
    "output_dir",
    "output_lock",
    "read_marker",
]

#: The file in an output folder that names its writer (hidden: data discovery skips it).
MARKER = ".seemingly-output.json"


def _abs(path: str | os.PathLike[str]) -> Path:
    """Absolute, with ``..`` removed lexically (resolving would follow a symlinked target)."""
    return Path(os.path.abspath(os.fspath(path)))


def read_marker(folder: Path) -> dict | None:
    """The marker of an output folder, or None when it has none (or an unreadable one)."""
    path = folder / MARKER
    if path.is_symlink() or not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return content if isinstance(content, dict) else None


def _check_inputs(target: Path, inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """Refuse a target equal to, inside, or holding one of the inputs."""
    t = target.resolve()
    for inp in inputs:
        if inp is None or "://" in os.fspath(inp):
            continue
        i = Path(inp).resolve()
        if t == i:
            raise OutputError(f"{target}: the output is the input {inp}; choose another output")
        if t.is_relative_to(i) and i.is_dir():
            raise OutputError(
                f"{target}: the output is inside the input folder {inp}; the next read of the "
                "data would mix run output into it. Choose an output outside it"
            )
        if i.is_relative_to(t):
            raise OutputError(
                f"{target}: the output folder holds the input {inp}; replacing it would delete "
                "the input. Choose an output outside it"
            )


@contextmanager
def output_lock(target: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside ``target``; a second holder fails at once with a message.

    ``flock`` is released by the kernel when a process dies, so a killed run never leaves a
    stale lock behind, only a harmless empty file.
    """
    t = _abs(target)
    t.parent.mkdir(parents=True, exist_ok=True)
    lock = t.parent / f".{t.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise OutputError(
                f"{target}: another seemingly run (pid {holder}) is writing it; wait for it to "
                "finish or choose another output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            # Removed while still held, so a waiting run cannot lock a file about to vanish.
            try:
                if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                    lock.unlink()
            except OSError:
                pass
    finally:
        os.close(fd)


def check_file_target(
    target: str | os.PathLike[str],
    *,
    what: str,
    is_owned: Callable[[Path], bool],
    inputs: Iterable[str | os.PathLike[str] | None] = (),
) -> Path:
    """Refuse writing a file over a symlink, a folder, an input, or a file it did not write.

    ``is_owned(path)`` says whether an existing file is one of this kind of output (a store,
    a report). Returns the absolute target.
    """
    t = _abs(target)
    if t.is_symlink():
        raise OutputError(f"{target}: is a symlink; seemingly does not write through links. "
                          f"Give the {what} path itself")
    if t.is_dir():
        raise OutputError(f"{target}: is a folder; give a file path for the {what}")
    _check_inputs(t, inputs)
    if t.exists() and not is_owned(t):
        raise OutputError(
            f"{target}: exists and is not a {what} seemingly wrote; refusing to overwrite it. "
            "Choose another path or move the file away"
        )
    return t


def _owned(target: Path, writer: str, own_names: frozenset[str]) -> tuple[bool, list[str]]:
    """Whether ``writer`` may replace the existing folder, and the entries that say no."""
    entries = [p.name for p in target.iterdir() if p.name != MARKER]
    marker = read_marker(target)
    if marker is not None and marker.get("writer") == writer:
        return True, []
    if marker is not None:
        return False, [f"{MARKER} (written by {marker.get('writer')!r})"]
    foreign = sorted(e for e in entries if e not in own_names)
    return not foreign, foreign


@contextmanager
def output_dir(
    target: str | os.PathLike[str],
    *,
    writer: str,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    own_names: Iterable[str] = (),
    force: bool | None = None,
    keep: Iterable[str] = (),
    record_files: bool = False,
    marker: bool = True,
) -> Iterator[Path]:
    """Write a folder atomically; yields the temporary folder to write into.

    Parameters
    ----------
    target
        The output folder. It may be missing, empty, or an earlier output of ``writer``.
    writer
        Name of the command, recorded in the marker; another writer's folder is refused.
    inputs
        Paths the run reads; an output equal to, inside or around one is refused.
    own_names
        File names this writer produces: a folder without a marker holding only these (an
        output of an older version) counts as owned.
    force
        None: an owned folder is replaced. False/True: replaced only when True (``--force``).
    keep
        Files of the previous output carried into the new one by hard link (a reusable
        store), so a failed run still leaves the old one whole.
    record_files
        Record every file (and its size) in the marker, so a reader can tell a truncated copy.
    marker
        Write the marker (a model folder lists its files in its own manifest instead).

    Raises
    ------
    OutputError
        The target is a file, a symlink, an input, not owned, locked by another run, or
        (``force=False``) an earlier output.
    """
    t = _abs(target)
    own = frozenset(own_names)
    if t.is_symlink():
        raise OutputError(f"{target}: is a symlink; seemingly does not write through links. "
                          "Give the folder itself")
    if t.exists() and not t.is_dir():
        raise OutputError(f"{target}: is a file, not a folder; give a folder for the output")
    _check_inputs(t, inputs)
    with output_lock(t):
        _recover(t)
        if t.exists() and any(t.iterdir()):
            ok, foreign = _owned(t, writer, own)
            if not ok:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise OutputError(
                    f"{target}: holds files seemingly {writer} did not write ({shown}); "
                    "refusing to replace it. Choose an empty or new folder"
                )
            if force is False:
                raise OutputExistsError(f"{target}: holds an earlier {writer} output; pass "
                                        "--force to replace it")
        for stale in t.parent.glob(f".{t.name}.partial-*"):
            _remove(stale)  # the lock is ours: every partial is of a dead or failed run
        tmp = t.parent / f".{t.name}.partial-{os.getpid()}"
        tmp.mkdir()
        if marker:
            _write_marker(tmp, writer, complete=False)
        if t.is_dir():
            for name in keep:
                old = t / name
                if old.is_file() and not old.is_symlink():
                    try:
                        os.link(old, tmp / name)
                    except OSError:
                        shutil.copy2(old, tmp / name)
        try:
            yield tmp
        except BaseException as exc:
            exc.add_note(f"{target} is unchanged; the partial output is in {tmp}")
            raise
        if marker:
            _write_marker(tmp, writer, complete=True, files=_sizes(tmp) if record_files else None)
        _swap(tmp, t)


def _write_marker(folder: Path, writer: str, *, complete: bool,
                  files: dict[str, int] | None = None) -> None:
    from seemingly._version import __version__

    content: dict[str, object] = {"writer": writer, "version": __version__, "complete": complete}
    if files is not None:
        content["files"] = files
    path = folder / MARKER
    path.write_text(json.dumps(content, indent=1, sort_keys=True), encoding="utf-8")


def _sizes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.name != MARKER
    }


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _recover(target: Path) -> None:
    """Finish a swap a killed run left between its two renames: with the target gone, the
    previous output (``.NAME.old-PID``) is put back; beside a target it is removed."""
    for old in sorted(target.parent.glob(f".{target.name}.old-*")):
        if not target.exists() and old.is_dir() and not old.is_symlink():
            os.rename(old, target)
        else:
            _remove(old)


def _swap(tmp: Path, target: Path) -> None:
    """Put ``tmp`` in place of ``target``: two renames, the old folder removed last."""
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        _remove(old)
        os.rename(target, old)
        os.rename(tmp, target)
        _remove(old)  # rmtree unlinks symlinks, never follows them
    else:
        os.rename(tmp, target)


def check_complete(folder: Path) -> None:
    """Refuse a data folder whose marker says it was left incomplete, or that lacks a file the
    marker lists (a truncated or partly copied output). Sizes are recorded but not compared:
    editing a table on purpose is allowed, and a truncated Parquet file fails to read anyway.

    Raises
    ------
    ContractError
        Naming the first file that is missing.
    """
    marker = read_marker(folder)
    if marker is None:
        return
    fix = f"Write it again, or delete {folder / MARKER} if you changed the files on purpose."
    if marker.get("complete") is not True:
        raise ContractError(
            f"{folder}: incomplete output of seemingly {marker.get('writer')} (the run did not "
            f"finish). {fix}"
        )
    files = marker.get("files")
    if not isinstance(files, dict):
        return
    for rel in files:
        path = folder / rel
        if not path.is_file():
            raise ContractError(f"{path}: missing; {folder} is a truncated copy of a seemingly "
                                f"{marker.get('writer')} output ({len(files)} files). {fix}")
