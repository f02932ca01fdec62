"""The newsrag chat: `python app.py [--index NAME] [--host 127.0.0.1] [--port 7860] [--auth user:pw]`.

Thin on purpose: the UI lives in rag/ui/; this is the same as `rag serve`.
"""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "serve", *sys.argv[1:]]
    main()
