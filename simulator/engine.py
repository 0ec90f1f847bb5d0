"""Event-queue scheduler with generator processes.

A call flow reads best as a straight line ("ring, wait 4 s, answer, talk 3 min, ..."), so
flows are Python generators that ``yield`` either a delay in ticks or a :class:`Wait`
(resumed by whoever fires it first: an agent becoming free, or a patience timer).
Ties in time are broken by a running counter, so the order never depends on object
identity or hashing: the same seed always gives the same sequence.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable, Generator

Process = Generator[Any, Any, None]


class Wait:
    """A one-shot rendezvous: the first ``fire(value)`` resumes the waiting process."""

    __slots__ = ("engine", "proc", "done", "owner")

    def __init__(self, engine: "Engine", owner: Any = None):
        self.engine = engine
        self.proc: Process | None = None
        self.done = False
        self.owner = owner          # what is waiting (e.g. the call), for the dispatcher

    def fire(self, value: Any = None) -> bool:
        if self.done:
            return False
        self.done = True
        # resume through _resume: the process may fire its own Wait before yielding it
        self.engine.at(self.engine.now, self._resume, value)
        return True

    def _resume(self, value: Any) -> None:
        self.engine._step(self.proc, value)

    def fire_later(self, delay: int, value: Any = None) -> None:
        """Timeout: fire after ``delay`` ticks unless something fired first."""
        self.engine.at(self.engine.now + delay, self.fire, value)


class Engine:
    def __init__(self, start: int):
        self.now = start
        self._heap: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._n = 0

    def at(self, t: int, fn: Callable[..., Any], *args: Any) -> None:
        self._n += 1
        heapq.heappush(self._heap, (t, self._n, fn, args))

    def after(self, dt: int, fn: Callable[..., Any], *args: Any) -> None:
        self.at(self.now + dt, fn, *args)

    def spawn(self, proc: Process, t: int | None = None) -> None:
        self.at(self.now if t is None else t, self._step, proc, None)

    def wait(self, owner: Any = None) -> Wait:
        return Wait(self, owner)

    def _step(self, proc: Process, value: Any) -> None:
        try:
            y = proc.send(value)
        except StopIteration:
            return
        if y.__class__ is int:
            self.at(self.now + y, self._step, proc, None)
        elif isinstance(y, Wait):
            y.proc = proc
        else:  # pragma: no cover - programming error in a flow
            raise TypeError(f"process yielded {y!r}; expected ticks (int) or Wait")

    def run(self, until: int) -> None:
        """Run everything scheduled strictly before ``until``; later items stay unrun."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] < until:
            t, _, fn, args = pop(heap)
            if t > self.now:
                self.now = t
            fn(*args)
        self.now = until
