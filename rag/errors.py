"""Exceptions with messages meant for the user: one line, naming what is wrong."""

from __future__ import annotations


class NewsragError(Exception):
    """Base of all errors the CLI reports as a single line instead of a traceback."""


class ModelMissingError(NewsragError):
    """A model is configured but not present locally."""


class IndexMismatchError(NewsragError):
    """An index was built with another embedding model, dimension or format."""


class IndexCorruptError(NewsragError):
    """The files of an index disagree with each other."""


class InputProblem(NewsragError):
    """One bad input: a file, or a row/line inside it. Ingest reports it and goes on."""

    def __init__(self, source: str, message: str, where: str | None = None, *, warning: bool = False):
        self.source = source
        self.where = where
        self.message = message
        self.warning = warning
        super().__init__(str(self))

    def __str__(self) -> str:
        loc = f"{self.source} {self.where}" if self.where else self.source
        return f"{loc}: {self.message}"
