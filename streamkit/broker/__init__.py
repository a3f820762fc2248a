"""Topics: fan-out to many subscribers, and resume after the last event a client saw.

Publish single items or whole streams to a named topic; subscribe as a
:class:`~streamkit.Stream` of :class:`Message`, optionally ``after=`` an event id to replay
the stored history and then go on live, with no gap and no duplicate in between. Event ids
become SSE ``id:`` lines, so a browser that reconnects with ``Last-Event-ID`` resumes exactly
where it stopped. Whatever a subscriber cannot get without a gap raises
:class:`SubscriberLagged`; nothing is skipped silently.

- :class:`MemoryBroker`: one process (the default);
- :class:`RedisBroker`: several workers sharing Redis Streams (``pip install 'streamkit[redis]'``).

>>> from streamkit.broker import MemoryBroker, START
>>> async with MemoryBroker() as broker:                                # doctest: +SKIP
...     broker.start("answer:1", llm_deltas(prompt), keep_alive=30.0)
...     async for message in broker.subscribe("answer:1", after=START):
...         print(message.id, message.data)

Several workers behind a load balancer, one Redis: start the generation on whichever worker
gets the request; the browser's ``EventSource`` reconnects to any worker with its
``Last-Event-ID`` and gets the rest::

    broker = RedisBroker("redis://127.0.0.1:6379/0")     # one per worker, in its lifespan

    async def start_answer(prompt):                        # POST /answers
        topic = f"answer:{uuid.uuid4().hex}"
        broker.start(topic, llm_deltas(prompt), keep_alive=30.0)   # outlives this request
        return topic

    def answer_events(topic, last_event_id):               # GET /answers/{topic}
        return broker.subscribe(topic, after=last_event_id or START) | map(
            lambda message: ServerSentEvent(json.dumps(message.data), id=message.id)
        )
"""

from streamkit.broker._base import Broker
from streamkit.broker._errors import (
    BrokerClosed,
    BrokerError,
    BrokerUnavailable,
    ProducerCancelled,
    ProducerFailed,
    SubscriberLagged,
)
from streamkit.broker._ids import START
from streamkit.broker._memory import MemoryBroker
from streamkit.broker._message import Message
from streamkit.broker._producer import Producer
from streamkit.broker._redis import RedisBroker
from streamkit.broker._serializer import JSONSerializer, Serializer

__all__ = [
    "Broker",
    "MemoryBroker",
    "RedisBroker",
    "Message",
    "Producer",
    "START",
    "Serializer",
    "JSONSerializer",
    "BrokerError",
    "SubscriberLagged",
    "ProducerFailed",
    "ProducerCancelled",
    "BrokerUnavailable",
    "BrokerClosed",
]
