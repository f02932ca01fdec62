"""The local FAISS store: one folder per index, immutable generations, atomic publication.

:class:`~rag.store.faiss.reader.NewsIndex` reads the live generation,
:class:`~rag.store.faiss.writer.IndexWriter` writes the next one; :mod:`rag.store.faiss.layout`
describes the files, :mod:`rag.store.faiss.ann` the approximate indexes and
:mod:`rag.store.faiss.bm25` the lexical one.
"""
