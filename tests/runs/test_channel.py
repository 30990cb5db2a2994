import asyncio

from sagents.events import AgentNotice
from sagents.runs.channel import EventChannel


def ev(seq: int) -> AgentNotice:
    return AgentNotice(code="n", message=str(seq), seq=seq)


async def collect(channel: EventChannel, after: int = 0) -> list[int]:
    return [e.seq async for e in channel.subscribe(after)]


async def test_late_reader_replays_everything_then_follows_live() -> None:
    channel = EventChannel()
    for i in range(1, 4):
        channel.publish(ev(i))
    reader = asyncio.create_task(collect(channel))
    await asyncio.sleep(0)
    channel.publish(ev(4))
    channel.close()
    assert await reader == [1, 2, 3, 4]


async def test_reader_after_seq_gets_exactly_the_missed_events() -> None:
    channel = EventChannel()
    for i in range(1, 6):
        channel.publish(ev(i))
    channel.close()
    assert await collect(channel, after=3) == [4, 5]
    assert await collect(channel, after=5) == []


async def test_many_readers_each_see_every_event() -> None:
    channel = EventChannel()
    readers = [asyncio.create_task(collect(channel)) for _ in range(5)]
    await asyncio.sleep(0)
    for i in range(1, 51):
        channel.publish(ev(i))
        if i % 7 == 0:
            await asyncio.sleep(0)
    channel.close()
    results = await asyncio.gather(*readers)
    assert all(r == list(range(1, 51)) for r in results)


async def test_cancelled_reader_does_not_disturb_others() -> None:
    channel = EventChannel()
    quitter = asyncio.create_task(collect(channel))
    stayer = asyncio.create_task(collect(channel))
    await asyncio.sleep(0)
    quitter.cancel()
    await asyncio.sleep(0)
    channel.publish(ev(1))
    channel.close()
    assert await stayer == [1]
    assert quitter.cancelled()


async def test_batches_hold_what_arrived_while_the_reader_was_away() -> None:
    channel = EventChannel()
    channel.publish(ev(1))
    channel.publish(ev(2))
    batches = channel.batches()
    assert [e.seq for e in await anext(batches)] == [1, 2]
    waiting = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0)
    for i in range(3, 6):  # published in one go: the reader wakes once
        channel.publish(ev(i))
    assert [e.seq for e in await waiting] == [3, 4, 5]
    channel.close()
    assert [b async for b in batches] == []


async def test_batches_after_seq_skip_what_the_reader_had() -> None:
    channel = EventChannel()
    for i in range(1, 5):
        channel.publish(ev(i))
    channel.close()
    assert [[e.seq for e in b] async for b in channel.batches(2)] == [[3, 4]]
