"""What a chaos run must show, as tables, with the deviations that make it fail. Pure: the
driver gathers the facts (statuses, participants' reports, queues, outbox, dead letters) and
these functions judge them.
"""

from collections import Counter, defaultdict

from .plan import FINAL, FLOWS, all_sagas, expected_holdings


def outcome_table(sagas, ends, why=None):
    """Rows (flow, status, expected count, actual count) over every saga started (an order
    paid to be cancelled counts under order_payment) and the deviations: (flow, shape,
    expected, actual, why) -> count, `why` being the saga's failure as the store says it
    (`why`: key -> text)."""
    expected, actual = Counter(), Counter()
    deviations = Counter()
    for s in all_sagas(sagas):
        end = ends.get(s.key, "not started")
        expected[(s.flow, s.expected)] += 1
        actual[(s.flow, end)] += 1
        if end != s.expected:
            deviations[(s.flow, s.shape, s.expected, end, (why or {}).get(s.key) or "")] += 1
    rows = []
    for flow in FLOWS:
        statuses = sorted({st for (f, st) in list(expected) + list(actual) if f == flow})
        for status in statuses:
            rows.append((flow, status, expected[(flow, status)], actual[(flow, status)]))
    return rows, deviations


def holdings_deviations(sagas, ends, seeded):
    """Where a participant's seeded resources stand apart from what the sagas' actual ends say:
    [(service, resource, expected, actual)]. `seeded` is the merged "seeded" part of the
    participants' reports: {service: {resource: figure}}."""
    out = []
    for (service, resource), figure in sorted(expected_holdings(sagas, ends).items()):
        actual = seeded.get(service, {}).get(resource)
        if actual != figure:
            out.append((service, resource, figure, actual))
    return out


def report_deviations(reports):
    """From the participants' reports ({process: report}): effects applied twice and broken
    invariants, as lines."""
    out = []
    for process, report in sorted(reports.items()):
        for service, figures in sorted(report.items()):
            if service == "seeded":
                for name, holds in sorted(figures.get("invariants", {}).items()):
                    if not holds:
                        out.append(f"{process}: invariant broken: {name}")
            elif figures.get("repeated", 0) != 0:
                out.append(f"{process}: {service} applied {figures['repeated']} effects twice")
    return out


def merged_holdings(reports):
    """The "seeded" figures of every participant process, by service (each process reports
    the services it runs; the others stand as seeded, untouched, and are ignored)."""
    out = defaultdict(dict)
    for process, report in reports.items():
        served = [s for s in report if s != "seeded"]
        for service, figures in report.get("seeded", {}).items():
            if service in served:
                out[service].update(figures)
    return out


def queue_deviations(queues, dead_letters_queue):
    """Queues ({name: messages}) that still hold messages, the dead letters' queue apart."""
    return [f"queue {name} holds {count} messages" for name, count in sorted(queues.items())
            if name != dead_letters_queue and count != 0]


def dead_letter_deviations(dead_letters, published, injected):
    """`dead_letters`: [(message_id, reason)]. Every injected event must be there; besides them
    only outside events the run published (a copy of an event arriving after its saga moved on,
    "no saga waits for event ...") may be; nothing else (no command, reply or saga event)."""
    out = []
    seen = Counter(mid for mid, _ in dead_letters)
    for mid in sorted(injected):
        if seen[mid] != 1:
            out.append(f"injected {mid} dead-lettered {seen[mid]} times, not once")
    for mid, reason in dead_letters:
        if mid in injected:
            continue
        if mid not in published or not reason.startswith("no saga waits for event"):
            out.append(f"unexpected dead letter {mid}: {reason}")
    return out


def recoveries(schedule, ends_at, started_at, clock_start):
    """For each fault: seconds from its end until the first saga ended after it, and until every
    saga started before it ended was over. `ends_at`/`started_at`: key -> epoch seconds."""
    ends = sorted(ends_at.values())
    rows = []
    for fault in schedule:
        begin = clock_start + fault.at
        end = begin + fault.duration
        first = next((t for t in ends if t >= end), None)
        caught_up = max((ends_at.get(k, float("inf")) for k, t in started_at.items() if t < end),
                        default=end)
        rows.append((fault, None if first is None else first - end, max(0.0, caught_up - end)))
    return rows


def longest_by_kind(rows):
    out = {}
    for fault, first, caught_up in rows:
        best = out.get(fault.kind, (0.0, 0.0))
        out[fault.kind] = (max(best[0], first or 0.0), max(best[1], caught_up))
    return out


def is_final(status):
    return status in FINAL
