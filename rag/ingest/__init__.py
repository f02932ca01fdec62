"""Ingest: loaders → chunks → vectors (only for what is new) → a store writer.

:func:`~rag.ingest.pipeline.ingest_articles` is the one ingest run (the CLI, the chat's upload,
the evaluations and the benchmarks all call it); loaders turn files into articles, the chunker
cuts them on sentence boundaries, the embedding cache and the Ray encoder make embedding cheaper.
"""
