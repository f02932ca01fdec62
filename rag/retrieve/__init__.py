"""Retrieval: first-stage candidates from the store, fusion, a second stage, collapse.

:class:`~rag.retrieve.search.HybridSearch` is the one search every caller uses (``rag search``,
the answer chain, the chat, ``rag eval``); :class:`~rag.retrieve.retriever.NewsRetriever` adapts it
to LangChain.
"""
