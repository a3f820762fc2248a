"""HTTP response bodies as streams (httpx, the ``streamkit[http]`` extra): see :mod:`streamkit.http`."""
