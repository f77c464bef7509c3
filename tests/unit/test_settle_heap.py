"""``shared.lifecycle.settle_heap``: what a process holds before it serves leaves the cyclic collector's
generations, and what is made afterwards is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from shared.lifecycle import settle_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_objects_held_at_start_are_frozen_and_later_cycles_are_still_collected(unfrozen: None) -> None:
    held = [object() for _ in range(1000)]
    before = gc.get_freeze_count()
    settle_heap()
    assert gc.get_freeze_count() >= before + len(held)
    assert gc.is_tracked(held) and all(obj is not held for obj in gc.get_objects())  # in no generation
    later = Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
