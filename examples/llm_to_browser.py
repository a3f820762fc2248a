"""An LLM answer to the browser as SSE, token by token; the "model" is offline and fake.

    python examples/llm_to_browser.py   # then open http://127.0.0.1:8000/

With a real SDK the stream would be ``sk.llm.from_openai(client.chat.completions.create(...,
stream=True)) | sk.llm.text()``; the browser side stays the same. When the tab closes, the
run is cancelled and the model call with it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import anyio

import streamkit as sk

PAGE = b"""<!doctype html><meta charset="utf-8"><title>answer</title>
<p id="answer"></p>
<script>
  const source = new EventSource("/answer?q=why+streams");
  source.onmessage = (event) => { document.getElementById("answer").textContent += event.data; };
  source.addEventListener("done", () => source.close());
</script>"""


def fake_model(prompt: str) -> sk.Stream[str]:
    async def run() -> AsyncIterator[str]:
        for word in f"You asked: {prompt}. Streams send each token as soon as it exists.".split(" "):
            await anyio.sleep(0.05)  # the model "thinking"
            yield word + " "

    return sk.Stream(run)


def answer(request: sk.Request) -> sk.Stream[bytes]:
    return fake_model(request.query.get("q", "")) | sk.to_sse(done=sk.ServerSentEvent("", event="done"))


answers = sk.asgi(answer, heartbeat=15)


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"] == "/":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": PAGE})
    else:
        await answers(scope, receive, send)


def main() -> None:
    sk.serve(app, port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()
