"""The chat model behind the ``local`` and ``endpoint`` generators, built from the settings."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from rag.config import Settings
from rag.errors import NewsragError
from rag.models.llama import LlamaCppChat, local_model_path


def make_chat_model(settings: Settings, generator: str) -> BaseChatModel:
    """The chat model behind ``local`` or ``endpoint``."""
    if generator == "local":
        return LlamaCppChat(
            model_path=str(local_model_path(settings)),
            n_ctx=settings.llm_ctx,
            n_threads=settings.threads or None,
            max_tokens=settings.max_answer_tokens,
            prefix_cache=settings.prefix_cache,
        )
    if generator == "endpoint":
        if not settings.endpoint_url:
            raise NewsragError(
                "no endpoint configured: set NEWSRAG_ENDPOINT_URL (and NEWSRAG_ENDPOINT_MODEL, "
                "NEWSRAG_ENDPOINT_KEY if needed)"
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.endpoint_url,
            model=settings.endpoint_model,
            api_key=settings.endpoint_key or "none",  # type: ignore[arg-type,unused-ignore]
            temperature=0.0,
            max_tokens=settings.max_answer_tokens,
            timeout=120,  # type: ignore[call-arg,unused-ignore]
            max_retries=1,
            extra_body=settings.endpoint_extra_body or None,
        )
    raise NewsragError(f"generator {generator!r} is not an LLM generator")
