import asyncio

import pytest

from sagents.events import AgentNotice
from sagents.runs.channel import EVENT_OVERHEAD, EventChannel, EventsDropped, retained_size


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


# -- the cap on what the log keeps -------------------------------------------------


def big(seq: int, size: int = 1000) -> AgentNotice:
    return AgentNotice(code="n", message="x" * size, seq=seq)


def test_an_event_is_measured_by_its_text_and_a_fixed_overhead() -> None:
    small, large = big(1, 10), big(2, 10_010)
    assert retained_size(large) - retained_size(small) == 10_000
    assert retained_size(small) >= EVENT_OVERHEAD
    from sagents.events import ToolCalled

    called = ToolCalled(call_id="c", tool="t", arguments={"text": "y" * 5000})
    assert retained_size(called) > 5000  # dict fields count too


def test_past_its_cap_the_log_drops_the_oldest_and_keeps_the_newest() -> None:
    cap = 20_000
    channel = EventChannel(max_bytes=cap)
    for i in range(1, 201):
        channel.publish(big(i))
        assert channel.retained_bytes <= cap
    assert channel.last_seq == 200
    assert 1 < channel.first_kept_seq <= 200
    assert channel.retained_bytes > cap // 2  # it trims to 3/4, not to nothing


def test_one_event_over_the_cap_alone_is_still_kept() -> None:
    channel = EventChannel(max_bytes=10_000)
    channel.publish(big(1))
    channel.publish(big(2, 50_000))
    assert channel.first_kept_seq == 2 and channel.last_seq == 2


async def test_a_resume_from_before_the_first_kept_event_is_refused() -> None:
    channel = EventChannel(max_bytes=20_000)
    for i in range(1, 101):
        channel.publish(big(i))
    channel.close()
    first = channel.first_kept_seq
    with pytest.raises(EventsDropped) as caught:
        await collect(channel, after=first - 2)
    assert caught.value.first_kept == first
    assert await collect(channel, after=first - 1) == list(range(first, 101))
    with pytest.raises(EventsDropped):
        [b async for b in channel.batches(0)]


async def test_a_reader_that_falls_behind_the_cap_is_told_not_given_a_hole() -> None:
    channel = EventChannel(max_bytes=20_000)
    channel.publish(big(1))
    for read in (channel.subscribe(), channel.batches()):
        await anext(read)  # has seq 1 (in its first batch), wants 2 next
    seq = 1
    readers = (channel.subscribe(), channel.batches())
    for read in readers:
        await anext(read)
    for seq in range(2, 101):  # the readers do not read meanwhile
        channel.publish(big(seq))
    for read in readers:
        with pytest.raises(EventsDropped):
            await anext(read)
    # A reader that keeps up is not disturbed.
    live = EventChannel(max_bytes=20_000)
    reader = asyncio.create_task(collect(live))
    await asyncio.sleep(0)
    for seq in range(1, 101):
        live.publish(big(seq))
        await asyncio.sleep(0)
    live.close()
    assert await reader == list(range(1, 101))
