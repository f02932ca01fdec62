"""Benchmarks that print figures (never timed tests), each through the pipeline users get.

``rag bench ingest|scale|store|ray|answer|load``; the questions they ask are in
:mod:`rag.bench.questions`.
"""
