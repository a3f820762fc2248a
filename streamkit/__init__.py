"""streamkit: composable asyncio streams, from any source to any framework's streaming response.

>>> import streamkit as sk
>>> pipeline = sk.iterate(range(10)) | sk.filter(lambda n: n % 2) | sk.map(str)
>>> sk.run_sync(pipeline.list())                       # doctest: +SKIP
['1', '3', '5', '7', '9']
"""

from streamkit._core.channel import Channel, push
from streamkit._core.errors import ChannelClosedError, EmptyStreamError, StreamReusedError
from streamkit._core.marks import Framing
from streamkit._core.stream import Run, Step, Stream
from streamkit._framing.errors import FrameTooLarge, FramingError, NDJSONError
from streamkit._framing.ndjson import NDJSONDecoder
from streamkit._framing.sse import ServerSentEvent, SSEDecoder
from streamkit._framing.steps import SupportsSSE, decode, encode, lines, parse_ndjson, parse_sse, to_ndjson, to_sse
from streamkit._framing.text import LineDecoder
from streamkit._ops.combine import BufferOverflowError, buffer, catch, chain, merge, retry, switch_map, zip
from streamkit._ops.select import skip, skip_while, take, take_until, take_while
from streamkit._ops.time import batch, debounce, delay, heartbeat, sample, spaceout, throttle, timeout
from streamkit._ops.transform import distinct, enumerate, filter, flat_map, map, scan, start_with, tap
from typing import TYPE_CHECKING, Any

from streamkit._core.blocking import LoopThreadShutDown, SyncIterator, iterate_sync, run_sync
from streamkit._core.share import ConsumerLagError, Shared, share
from streamkit._sinks.asgi import asgi
from streamkit._sinks.deliver import Delivery, Sink, deliver
from streamkit._sinks.files import write_file, write_stdout
from streamkit._sinks.lines import request_shutdown
from streamkit._sinks.request import Request
from streamkit._sinks.serve import serve, server
from streamkit._sinks.wsgi import wsgi
from streamkit._sources.files import from_file
from streamkit._sources.iterables import empty, iterate, just, never
from streamkit._sources.timers import interval, timer, wait

if TYPE_CHECKING:
    from streamkit._sinks.starlette import StreamResponse

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Starlette is optional: import it only when StreamResponse is asked for.
    if name == "StreamResponse":
        from streamkit._sinks.starlette import StreamResponse

        return StreamResponse
    raise AttributeError(f"module 'streamkit' has no attribute {name!r}")

__all__ = [
    # the stream
    "Stream",
    "Step",
    "Run",
    "Framing",
    # sources
    "iterate",
    "just",
    "empty",
    "never",
    "from_file",
    "interval",
    "timer",
    "Channel",
    "push",
    "wait",
    # transform
    "map",
    "filter",
    "tap",
    "scan",
    "flat_map",
    "start_with",
    "distinct",
    "enumerate",
    # select
    "take",
    "take_while",
    "take_until",
    "skip",
    "skip_while",
    # time
    "throttle",
    "debounce",
    "sample",
    "batch",
    "timeout",
    "spaceout",
    "delay",
    "heartbeat",
    # combine
    "merge",
    "chain",
    "zip",
    "buffer",
    "catch",
    "retry",
    "switch_map",
    # framing
    "ServerSentEvent",
    "SupportsSSE",
    "SSEDecoder",
    "NDJSONDecoder",
    "LineDecoder",
    "to_sse",
    "parse_sse",
    "to_ndjson",
    "parse_ndjson",
    "lines",
    "encode",
    "decode",
    # sinks
    "asgi",
    "wsgi",
    "StreamResponse",
    "Request",
    "Sink",
    "Delivery",
    "deliver",
    "write_file",
    "write_stdout",
    "serve",
    "server",
    "request_shutdown",
    # one run, many readers
    "share",
    "Shared",
    # sync callers
    "run_sync",
    "iterate_sync",
    "SyncIterator",
    # errors
    "StreamReusedError",
    "ChannelClosedError",
    "EmptyStreamError",
    "BufferOverflowError",
    "FramingError",
    "FrameTooLarge",
    "NDJSONError",
    "ConsumerLagError",
    "LoopThreadShutDown",
    "__version__",
]
