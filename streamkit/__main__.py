"""``python -m streamkit``: the command line (``demo``, ``cat``); see ``python -m streamkit --help``."""

from streamkit._cli.main import main

raise SystemExit(main())
