"""Prototype pipelines in Jupyter: watch a stream live, and see time operators as pictures.

- :func:`show` runs a stream and shows it as it goes — the latest item, a growing text (LLM
  tokens) or a capped scrolling log — updating one notebook output in place, at most ``rate``
  times a second; outside a notebook it prints to the terminal. ``await show(stream)``.
- :class:`Timeline` records when each stage of a pipeline emitted what (``timeline.probe(name)``
  after each stage) and draws it as a marble diagram with matplotlib.
- :func:`marbles` records several named streams side by side on a virtual clock, in one call.
- :func:`scheduled` is a source that emits given values at given times: the input of a diagram.
- :func:`run_virtual` runs async code on a virtual clock from a notebook, so a minute of
  timeline takes an instant.

>>> import streamkit as sk
>>> from streamkit.notebook import marbles
>>> ticks = sk.interval(1) | sk.take(6)
>>> timeline = marbles({"ticks": ticks, "throttle(2.5)": ticks | sk.throttle(2.5)})
>>> timeline.items("throttle(2.5)")
[(1.0, 0), (4.0, 3)]

Drawing needs matplotlib: ``pip install 'streamkit[notebook]'``.
"""

from streamkit.notebook._marbles import marbles
from streamkit.notebook._scheduled import scheduled
from streamkit.notebook._show import show
from streamkit.notebook._timeline import Marble, Timeline
from streamkit.notebook._virtual import run_virtual

__all__ = ["show", "Timeline", "Marble", "marbles", "scheduled", "run_virtual"]
