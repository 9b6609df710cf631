"""The chat app: cited, streamed answers over the indexed articles, and an article library.

    python app.py                 # indexes the demo corpus on first run, serves on 127.0.0.1:7860
    qa serve --port 8000 --auth-file logins.txt

The app lives in qa/app/ (layout, handlers, rendering, serving); this file only starts it.
"""
from qa.app.serving import main

if __name__ == "__main__":
    main()
