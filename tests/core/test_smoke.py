import streamkit as sk
from streamkit.testing import record

async def test_pipeline_runs() -> None:
    assert await (sk.iterate(range(10)) | sk.filter(lambda n: n % 2) | sk.map(str) | sk.take(3)).list() == ["1", "3", "5"]

async def test_virtual_throttle() -> None:
    assert await record(sk.interval(60) | sk.throttle(600) | sk.take(2)) == [(60.0, 0), (660.0, 10)]
