"""Evaluation: datasets, metrics, answer and retrieval runs, the LLM judge, reports and the CI gate.

Every run builds its pipeline through :mod:`rag.pipeline`, so the figures describe what users run.
"""
