"""Exceptions a user can cause. Each subclasses a built-in so ordinary handlers still work."""

from __future__ import annotations

__all__ = [
    "ContractError", "NotFittedError", "SeedRequiredError", "ModelArtifactError", "OutputError",
    "OutputExistsError",
]


class ContractError(ValueError):
    """Input breaks the data contract structurally (missing column, unreadable file, ...)."""


class NotFittedError(RuntimeError):
    """A model was used before ``fit``."""


class SeedRequiredError(ValueError):
    """A random step was asked to run without an explicit seed."""


class ModelArtifactError(ValueError):
    """A model directory is missing files, corrupt, or does not match its manifest."""


class OutputError(ValueError):
    """An output path would overwrite something seemingly did not write, mix with an input,
    follow a symlink, or is being written by another run."""


class OutputExistsError(OutputError, FileExistsError):
    """The output holds an earlier output of the same command and ``--force`` was not given."""
