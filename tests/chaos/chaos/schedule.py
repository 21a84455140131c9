"""The fault schedule of a chaos run, drawn from a seed. Pure: no I/O.

Faults come one after another, `gap` seconds apart, so that the recovery after each can be
told apart. Every kind the harness knows is in each schedule: kill -9 of orchestrators and of
participants (each restarted after a while), the broker down for `outage` seconds, a PostgreSQL
restart, and an orchestrator stopped (SIGSTOP) for longer than its lease, then continued.
"""

import random
from dataclasses import dataclass

KINDS = (
    "orchestrator killed",
    "participant killed",
    "broker down",
    "postgres restarted",
    "orchestrator stopped past its lease",
)


@dataclass
class Fault:
    kind: str
    target: str  # "orchestrator 1", a participant's services, "broker", "postgres"
    at: float  # seconds after the load started
    duration: float  # how long the target stays down (stopped, killed) before it is back


def make_schedule(seed, orchestrators, participants, outage, lease_seconds, gap, warmup):
    """The faults, in time order. `participants` names the participant processes."""
    rng = random.Random(seed)
    # Two different orchestrators killed (when there are two), three different participants.
    first = rng.randrange(orchestrators)
    faults = [
        ("orchestrator killed", f"orchestrator {first}", rng.uniform(3, 8)),
        ("orchestrator killed", f"orchestrator {(first + 1) % orchestrators}", rng.uniform(3, 8)),
        *(("participant killed", p, rng.uniform(3, 10))
          for p in rng.sample(participants, min(3, len(participants)))),
        ("postgres restarted", "postgres", 0.0),
        ("orchestrator stopped past its lease", f"orchestrator {rng.randrange(orchestrators)}",
         lease_seconds + rng.uniform(2, 5)),
    ]
    rng.shuffle(faults)
    # The broker outage is the longest: never first, so the run is warm before it.
    faults.insert(rng.randrange(1, len(faults) + 1), ("broker down", "broker", float(outage)))
    schedule, at = [], warmup
    for kind, target, duration in faults:
        schedule.append(Fault(kind, target, round(at, 1), round(duration, 1)))
        at += duration + gap
    return schedule


def span(schedule, gap):
    """Seconds from the load's start until the last fault is over and a gap has passed."""
    last = schedule[-1]
    return last.at + last.duration + gap
