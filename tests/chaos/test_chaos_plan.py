"""Unit tests of tools/chaos's pure parts: the sagas and their expected ends, the fault
schedule, and the checks. Run: /usr/bin/python3 -m unittest discover -s tests/chaos"""

import unittest

from chaos import checks, plan
from chaos.schedule import KINDS, make_schedule, span


class Sagas(unittest.TestCase):
    def test_every_flow_and_both_ends_appear_and_the_plan_follows_the_seed(self):
        sagas = plan.make_sagas(300, 7)
        self.assertEqual({s.flow for s in sagas}, set(plan.FLOWS))
        self.assertEqual({s.expected for s in sagas}, {"completed", "compensated"})
        again = plan.make_sagas(300, 7)
        self.assertEqual([(s.key, s.shape) for s in sagas], [(s.key, s.shape) for s in again])
        other = plan.make_sagas(300, 8)
        self.assertNotEqual([s.shape for s in sagas], [s.shape for s in other])

    def test_no_two_sagas_share_a_key_or_a_seeded_resource(self):
        sagas = plan.make_sagas(500, 3)
        keys = [s.key for s in plan.all_sagas(sagas)]
        self.assertEqual(len(keys), len(set(keys)))
        created = [tuple(c[:2]) for c in plan.seed_calls(sagas)
                   if c[0] in ("points.open_account", "billing.open_account", "inventory.add_stock",
                               "booking.add_slot", "certificates.issue", "certificates.add_code",
                               "payments.open_payment", "payment_gateway.register_method")]
        self.assertEqual(len(created), len(set(created)))

    def test_a_paid_cancellation_brings_its_order_and_decides_its_resources(self):
        sagas = [plan._order_cancellation("k", "cancel a paid order")]
        order = sagas[0].needs_paid_order
        self.assertEqual([s.key for s in plan.all_sagas(sagas)], [order.key, "k"])
        user = ("billing", f"{order.key}-user")
        self.assertEqual(plan.expected_holdings(sagas, {order.key: "completed", "k": "completed"})[user], 5000)
        self.assertEqual(plan.expected_holdings(sagas, {order.key: "completed"}).get(user), None)
        self.assertEqual(plan.expected_holdings(sagas, {order.key: "completed", "k": "compensated"})[user], 4500)

    def test_holdings_follow_the_actual_end(self):
        s = plan._offer_purchase("k", "enough points")
        self.assertEqual(plan.expected_holdings([s], {"k": "completed"}), {("points", "k-user"): 600})
        self.assertEqual(plan.expected_holdings([s], {"k": "compensated"}), {("points", "k-user"): 1000})
        self.assertEqual(plan.expected_holdings([s], {"k": "failed"}), {})


class Schedule(unittest.TestCase):
    def test_every_kind_of_fault_once_at_least_in_time_order_without_overlap(self):
        s = make_schedule(5, 2, ["points", "booking", "users", "sms"], 60, 5, gap=10, warmup=20)
        self.assertEqual({f.kind for f in s}, set(KINDS))
        killed = [f.target for f in s if f.kind == "participant killed"]
        self.assertEqual(len(killed), len(set(killed)))
        self.assertEqual({f.target for f in s if f.kind == "orchestrator killed"},
                         {"orchestrator 0", "orchestrator 1"})
        self.assertNotEqual(s[0].kind, "broker down")
        for before, after in zip(s, s[1:]):
            self.assertGreaterEqual(after.at, before.at + before.duration + 10 - 0.2)
        outage = next(f for f in s if f.kind == "broker down")
        self.assertEqual(outage.duration, 60)
        stopped = next(f for f in s if f.kind == "orchestrator stopped past its lease")
        self.assertGreater(stopped.duration, 5)
        self.assertAlmostEqual(span(s, 10), s[-1].at + s[-1].duration + 10)

    def test_the_seed_decides_the_schedule(self):
        a = make_schedule(1, 2, ["x", "y", "z"], 20, 5, 5, 5)
        self.assertEqual(a, make_schedule(1, 2, ["x", "y", "z"], 20, 5, 5, 5))
        self.assertNotEqual(a, make_schedule(2, 2, ["x", "y", "z"], 20, 5, 5, 5))


class Checks(unittest.TestCase):
    def test_an_end_other_than_the_input_says_is_a_deviation_per_flow_and_shape(self):
        sagas = [plan._points_charge("a", "card declined"), plan._points_charge("b", "card declined"),
                 plan._points_charge("c", "card charged, points added")]
        rows, wrong = checks.outcome_table(sagas, {"a": "compensated", "b": "completed", "c": "completed"},
                                           {"a": "charge: business failure CardDeclined"})
        self.assertIn(("points_charge", "compensated", 2, 1), rows)
        self.assertIn(("points_charge", "completed", 1, 2), rows)
        self.assertEqual(wrong, {("points_charge", "card declined", "compensated", "completed", ""): 1})
        _, wrong = checks.outcome_table(sagas, {"a": "failed", "c": "completed"}, {"a": "charge: Timeout"})
        self.assertEqual(wrong, {("points_charge", "card declined", "compensated", "failed", "charge: Timeout"): 1,
                                 ("points_charge", "card declined", "compensated", "not started", ""): 1})

    def test_resources_are_compared_with_the_participants_figures(self):
        sagas = [plan._points_charge("a", "card charged, points added")]
        seeded = {"points": {"a-user": 2500}, "payment_gateway": {"a-card": 10000}}
        self.assertEqual(checks.holdings_deviations(sagas, {"a": "completed"}, seeded),
                         [("payment_gateway", "a-card", 7500, 10000)])

    def test_reports_with_a_repeated_effect_or_a_broken_invariant_deviate(self):
        reports = {"points": {"points": {"applied": 3, "repeated": 1},
                              "seeded": {"invariants": {"points conserved": False, "x": True}}}}
        self.assertEqual(sorted(checks.report_deviations(reports)),
                         ["points: invariant broken: points conserved",
                          "points: points applied 1 effects twice"])

    def test_dead_letters_hold_the_injected_events_and_late_copies_only(self):
        late = ("pay-1", "no saga waits for event payment.succeeded")
        self.assertEqual(checks.dead_letter_deviations([("x", "no saga waits for event e"), late],
                                                       {"pay-1", "x"}, {"x"}), [])
        self.assertEqual(len(checks.dead_letter_deviations([late], {"pay-1"}, {"x"})), 1)
        self.assertEqual(len(checks.dead_letter_deviations(
            [("x", "no saga waits for event e"), ("cmd", "processing failed: boom")], {"x"}, {"x"})), 1)

    def test_queues_other_than_the_dead_letters_must_be_empty(self):
        self.assertEqual(checks.queue_deviations({"p.dead-letters": 4, "p.replies": 0}, "p.dead-letters"), [])
        self.assertEqual(len(checks.queue_deviations({"p.commands.points": 2}, "p.dead-letters")), 1)


if __name__ == "__main__":
    unittest.main()
