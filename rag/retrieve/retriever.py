"""LangChain's retriever interface over :class:`rag.retrieve.search.HybridSearch`."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.records import SearchFilters
from rag.retrieve.search import HybridSearch


class NewsRetriever(BaseRetriever):
    """LangChain retriever over an index: documents carry the passage fields as metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    k: int = 8
    filters: SearchFilters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = self.search.run(query, k=self.k, filters=self.filters)
        return [Document(page_content=p.text, metadata=p.to_dict()) for p in passages]
