"""The Gradio chat (``rag serve``, ``python app.py``): page, backend and HTML rendering."""
