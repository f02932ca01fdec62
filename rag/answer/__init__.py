"""Answering: (history, question) → standalone question → sources → generation → verification → Answer.

:class:`~rag.answer.chain.NewsQA` is the LCEL chain; a :class:`~rag.answer.generators.Generator`
writes the draft (a llama.cpp or OpenAI-compatible chat model, or the evidence generator without
any LLM) and :class:`~rag.answer.verify.CitationVerifier` checks every claim against its source.
"""
