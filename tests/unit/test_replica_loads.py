"""Which token replica gets the next batch (``services.gateway.replicas.ReplicaLoads``): the one with the
fewest items in flight, ties in turn; a replica not heard from in ``FORGET_AFTER`` seconds is forgotten."""

from __future__ import annotations

from services.gateway.replicas import FORGET_AFTER, ReplicaLoads


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_replica_known_means_the_queue_group() -> None:
    assert ReplicaLoads().pick(5) is None


def test_each_batch_goes_to_the_replica_with_the_fewest_items_in_flight() -> None:
    loads = ReplicaLoads()
    loads.heard("a")
    loads.heard("b")
    first = loads.pick(20)
    second = loads.pick(5)
    assert {first, second} == {"a", "b"}  # the busy one is passed over
    assert loads.pick(3) == second  # 5 in flight against 20
    assert loads.pick(3) == second  # 8 against 20
    assert first is not None and second is not None
    loads.done(first, 20)  # the big batch answered
    assert loads.pick(1) == first


def test_ties_are_taken_in_turn() -> None:
    loads = ReplicaLoads()
    for replica in ("a", "b", "c"):
        loads.heard(replica)
    picked = []
    for _ in range(6):
        replica = loads.pick(4)
        assert replica is not None
        picked.append(replica)
        loads.done(replica, 4)  # answered before the next: every pick is a tie
    assert sorted(picked) == ["a", "a", "b", "b", "c", "c"]


def test_a_replica_not_heard_from_is_forgotten_and_a_forgotten_one_comes_back_when_heard() -> None:
    clock = Clock()
    loads = ReplicaLoads(clock=clock)
    loads.heard("a")
    loads.heard("b")
    clock.now += FORGET_AFTER / 2
    loads.heard("b")
    clock.now += FORGET_AFTER / 2 + 1.0
    assert loads.pick(1) == "b"  # a's last word is older than FORGET_AFTER
    assert loads.known() == ["b"]
    loads.forget("b")  # its subject found no responder
    assert loads.pick(1) is None
    loads.heard("a")
    assert loads.pick(1) == "a"


def test_done_never_goes_below_zero_nor_revives_a_forgotten_replica() -> None:
    loads = ReplicaLoads()
    loads.heard("a")
    loads.heard("b")
    assert loads.pick(2) is not None
    loads.done("a", 50)
    loads.done("b", 50)
    loads.forget("a")
    loads.done("a", 1)
    assert loads.known() == ["b"]
    assert loads.pick(1) == "b"
