"""newsrag: grounded, cited, multilingual question answering over a news corpus."""

__version__ = "0.1.0"
