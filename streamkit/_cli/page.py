"""The demo page: inline HTML, CSS and JavaScript; it loads nothing from the network."""

from __future__ import annotations

import html

import streamkit
from streamkit._cli.pipelines import PIPELINES

TEMPLATE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamkit demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; background: #f6f7f9; color: #1d2330; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
  p.lead { margin: 0 0 1rem; color: #4a5263; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
  section { background: #fff; border: 1px solid #d9dde5; border-radius: 8px; padding: .8rem 1rem; min-height: 16rem; }
  h2 { font-size: 1.05rem; margin: 0 0 .3rem; display: flex; justify-content: space-between; }
  .status { font-size: .8rem; font-weight: normal; color: #8a93a5; }
  .status.live { color: #1a7f37; }
  pre.code { background: #f0f2f6; padding: .4rem .6rem; border-radius: 4px; font-size: .78rem; white-space: pre-wrap; margin: 0 0 .5rem; }
  .count { font-size: .85rem; color: #4a5263; margin-bottom: .4rem; }
  .answer { white-space: pre-wrap; min-height: 5rem; }
  ul.feed { margin: 0; padding-left: 0; list-style: none; font: .8rem/1.35 ui-monospace, monospace; max-height: 12rem; overflow: hidden; }
  .big { font-size: 2.2rem; font-weight: 600; }
</style>
<h1>streamkit demo</h1>
<p class="lead">Four live pipelines, each served by <code>streamkit.asgi</code> from this process; no network needed. streamkit __VERSION__.</p>
<main>
  <section id="llm">
    <h2>LLM tokens (SSE) <span class="status">connecting</span></h2>
    <pre class="code">__LLM__</pre>
    <div class="count">tokens: <b class="n">0</b> · answers done: <b class="done">0</b></div>
    <div class="answer"></div>
  </section>
  <section id="sensor">
    <h2>Sensor, throttled + batched (SSE) <span class="status">connecting</span></h2>
    <pre class="code">__SENSOR__</pre>
    <div class="count">batches: <b class="n">0</b></div>
    <ul class="feed"></ul>
  </section>
  <section id="log">
    <h2>Tailed log file (NDJSON) <span class="status">connecting</span></h2>
    <pre class="code">__LOG__</pre>
    <div class="count">lines: <b class="n">0</b></div>
    <ul class="feed"></ul>
  </section>
  <section id="heartbeat">
    <h2>Heartbeats (SSE) <span class="status">connecting</span></h2>
    <pre class="code">__HEARTBEAT__</pre>
    <div class="count">pings: <b class="n">0</b> · ticks: <b class="ticks">0</b></div>
    <div class="big">&#9829; <span class="pings">0</span></div>
  </section>
</main>
<script>
  // What each pipeline delivered, for people and for the browser test.
  window.received = { llm: 0, sensor: 0, log: 0, heartbeat: 0 };
  const card = (id) => document.getElementById(id);
  const setStatus = (id, text, live) => {
    const status = card(id).querySelector(".status");
    status.textContent = text;
    status.className = live ? "status live" : "status";
  };
  const count = (id) => { window.received[id] += 1; card(id).querySelector(".n").textContent = window.received[id]; };
  const prepend = (id, text, keep = 12) => {
    const list = card(id).querySelector(".feed");
    const item = document.createElement("li");
    item.textContent = text;
    list.prepend(item);
    while (list.children.length > keep) list.lastChild.remove();
  };
  const listen = (id, url, handlers) => {
    const source = new EventSource(url);
    source.onopen = () => setStatus(id, "live", true);
    source.onerror = () => setStatus(id, "reconnecting", false);
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handle(JSON.parse(event.data), event));
    }
  };

  let answer = 0;
  listen("llm", "/llm", {
    token: (data) => {
      const box = card("llm").querySelector(".answer");
      if (data.answer !== answer) { answer = data.answer; box.textContent = ""; }
      box.textContent += data.text;
      count("llm");
    },
    done: () => {
      const done = card("llm").querySelector(".done");
      done.textContent = Number(done.textContent) + 1;
    },
  });

  listen("sensor", "/sensor", {
    batch: (data) => {
      count("sensor");
      prepend("sensor", `${data.count} readings  mean ${data.mean.toFixed(2)}  min ${data.min.toFixed(2)}  max ${data.max.toFixed(2)}`);
    },
  });

  listen("heartbeat", "/heartbeat", {
    ping: () => { count("heartbeat"); card("heartbeat").querySelector(".pings").textContent = window.received.heartbeat; },
    tick: (data) => { card("heartbeat").querySelector(".ticks").textContent = data.tick; },
  });

  // NDJSON: read the response body as it arrives and split it into lines.
  (async function tail() {
    while (true) {
      try {
        const response = await fetch("/log");
        setStatus("log", "live", true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let pending = "";
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += value;
          const lines = pending.split("\\n");
          pending = lines.pop();
          for (const line of lines) {
            if (!line.trim()) continue;  // a keep-alive
            const record = JSON.parse(line);
            count("log");
            prepend("log", `#${record.seq} ${record.level.padEnd(7)} ${record.message}`);
          }
        }
      } catch (error) { /* the server went away: retry below */ }
      setStatus("log", "reconnecting", false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
</script>
</html>
"""


def render_page() -> str:
    """The demo page with each card's pipeline code filled in."""
    page = TEMPLATE.replace("__VERSION__", html.escape(streamkit.__version__))
    for name, code in PIPELINES.items():
        page = page.replace(f"__{name.upper()}__", html.escape(code))
    return page
