"""The local GGUF chat model: ``llama_cpp.Llama`` as a small LangChain ``BaseChatModel``.

Wrapped directly instead of LangChain-community's ``ChatLlamaCpp``, which forces
``rope_freq_base=10000`` and silently ruins Qwen2.5 (whose GGUF says 1e6).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from rag.config import Settings
from rag.errors import ModelMissingError, NewsragError

LOCAL_MODELS = {
    "qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "smollm2-135m-instruct": "SmolLM2-135M-Instruct.Q4_1.gguf",
}


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(m.type, "user")


class LlamaCppChat(BaseChatModel):
    """A llama.cpp GGUF model as a LangChain chat model (streaming, deterministic by default)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_batch: int = 512
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    # llama.cpp re-uses the KV cache of the longest prompt prefix it evaluated last time; False forgets
    # it before each completion (to measure what the re-use saves)
    prefix_cache: bool = True
    _llm: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-newsrag"

    def _client(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise NewsragError("llama-cpp-python is not installed: pip install -e '.[local]' (see README)") from exc
            self._llm = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_batch=self.n_batch,
                n_threads=self.n_threads or max(1, os.cpu_count() or 1),
                rope_freq_base=0.0,
                verbose=False,
            )
        return self._llm

    def _params(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """The completion request; ``response_format`` (a JSON schema) makes llama.cpp decode under a grammar."""
        params: dict[str, Any] = {
            "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
            "temperature": self.temperature,
            "max_tokens": kwargs.get("max_tokens") or self.max_tokens,
            "stop": stop or [],
            "seed": 0,
        }
        if kwargs.get("response_format"):
            params["response_format"] = kwargs["response_format"]
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.content for c in self._stream(messages, stop, run_manager, **kwargs))  # type: ignore[misc]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llm = self._client()
        if not self.prefix_cache:
            llm.reset()
        for part in llm.create_chat_completion(stream=True, **self._params(messages, stop, **kwargs)):
            delta = part["choices"][0].get("delta", {}).get("content") or ""
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk

    def count_tokens(self, text: str) -> int:
        return len(self._client().tokenize(text.encode("utf-8"), add_bos=False))


def local_model_path(settings: Settings) -> Path:
    name = settings.local_model
    if name in LOCAL_MODELS:
        path = settings.models_path / name / LOCAL_MODELS[name]
        if not path.is_file():
            raise ModelMissingError(
                f"local model {name!r} is not installed in {settings.models_path}: run `rag models fetch {name}`"
            )
        return path
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelMissingError(f"local model {name!r}: no such GGUF file and not one of {', '.join(LOCAL_MODELS)}")
    return path
