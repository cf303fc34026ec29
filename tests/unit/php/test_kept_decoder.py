"""A decoder kept across calls (as a worker keeps one) reads every value as a fresh one does."""

from __future__ import annotations

import pytest
from corpus import corpus

from bridge.exceptions import PhpDecodeError, PhpLimitError
from bridge.php import PhpDecoder, dumps, loads


def test_one_decoder_reads_the_whole_corpus_twice_like_fresh_ones() -> None:
    kept = PhpDecoder()
    for _round in range(2):
        for name, data in corpus().items():
            value = kept.decode(data)
            assert repr(value) == repr(loads(data)), name  # repr: NAN is not == NAN
            assert dumps(value) == data, name


def test_a_malformed_value_between_good_ones_leaves_the_caches_sound() -> None:
    kept = PhpDecoder()
    good = b'a:2:{s:3:"sku";s:5:"A-100";s:3:"qty";i:3;}'
    assert kept.decode(good) == {"sku": "A-100", "qty": 3}
    with pytest.raises(PhpDecodeError):
        kept.decode(b'a:2:{s:3:"sku";s:9:"A-100";s:3:"qty";i:3;}')
    assert kept.decode(good) == {"sku": "A-100", "qty": 3}


def test_a_kept_decoder_holds_nothing_between_calls() -> None:
    # What it learns about tokens lives for one call, so a worker's decoder stays small
    # however many different payloads it reads.
    kept = PhpDecoder()
    for n in range(50):
        assert kept.decode(dumps({f"key{n}": n, "x": [n, str(n)]})) == {
            f"key{n}": n,
            "x": [n, str(n)],
        }
        assert (kept._known, kept._slots, kept._refs, kept._data) == ({}, [None], {}, b"")


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        # Same class head, then cut short inside the object.
        (b'O:1:"A":1:{s:1:"x";N;}', b'O:1:"A":1:{s:1:"x";N;'),
        # Same class name, another count: a head of its own.
        (b'O:1:"A":1:{s:1:"x";N;}', b'O:1:"A":2:{s:1:"x";N;}'),
        # A count past what the data can hold, behind a known head.
        (b'O:1:"A":1:{s:1:"x";N;}', b'O:1:"A":9:{s:1:"x";N;}'),
        # Empty arrays, then one that does not close.
        (b"a:1:{i:0;a:0:{}}", b"a:1:{i:0;a:0:{;}"),
    ],
)
def test_known_heads_and_empty_arrays_fail_where_fresh_decoders_do(good: bytes, bad: bytes) -> None:
    kept = PhpDecoder()
    assert repr(kept.decode(good)) == repr(loads(good))
    with pytest.raises(PhpDecodeError) as fresh:
        loads(bad)
    with pytest.raises(PhpDecodeError) as known:
        kept.decode(bad)
    assert (type(known.value), str(known.value)) == (type(fresh.value), str(fresh.value))


def test_an_empty_array_at_the_depth_limit_is_refused() -> None:
    data = b"a:1:{i:0;" * 3 + b"a:0:{}" + b"}" * 3
    assert PhpDecoder(max_depth=4).decode(data) == [[[[]]]]
    with pytest.raises(PhpLimitError):
        PhpDecoder(max_depth=3).decode(data)
