"""Text analysis every stage shares: sentences, languages, lexical terms, token counts, mentions.

Pure functions over strings, no models and no stores, so ingest, retrieval, answering and
evaluation all see text the same way (the same sentence boundaries, the same stemmed terms).
"""
