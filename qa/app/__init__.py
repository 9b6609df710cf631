"""The chat page (Gradio): one module a concern.

    render.py   the answer, its sources and the copy text as escaped HTML (pure functions)
    chat.py     the chat tab's handlers (streamed cited answers, follow-ups, feedback)
    library.py  the library tab's handlers (article table, upload, delete)
    layout.py   the page: tabs, components and their events (``build_app``)
    serving.py  binding, logins, read-only mode and the launch (``launch``, ``main``)

Importing ``qa.app`` turns Gradio's analytics off and keeps Hugging Face offline, before Gradio
is imported by any of these modules.
"""
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
