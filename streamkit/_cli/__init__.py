"""The ``python -m streamkit`` command line: a live demo page and a re-framing ``cat``."""
