"""The sagas of a chaos run: for saga i, its flow, its input shape, the resources the
participants are seeded with for it alone, the outside events it needs, the end its input
decides and where its resources must stand after that end. Pure: no I/O.

Each saga owns its accounts, products, coupons, codes, slots and payments (named after its
key), so its end does not depend on the order the sagas run in. Shapes whose end depends on a
wait's timeout (minutes to days in definitions/) are left out, so the flows run unchanged.
"""

import random
from dataclasses import dataclass, field

FLOWS = (
    "offer_purchase",
    "user_registration",
    "order_payment",
    "order_cancellation",
    "coupon_issue",
    "points_charge",
    "certificate_activation",
    "certificate_redemption",
    "booking_payment",
)

FINAL = ("completed", "compensated", "failed", "cancelled")

# Outside events need their saga to wait first (an event no saga waits for is dead-lettered):
# the driver publishes them once the saga's status is `waiting`. `after` is the position of
# the event it follows (published a moment later, in order).


@dataclass
class Event:
    type: str
    body: dict
    message_id: str
    # A copy of an event already published (same message id): the orchestrator ignores it
    # while the saga waits, and dead-letters it ("no saga waits") once the saga moved on.
    duplicate: bool = False


@dataclass
class Saga:
    key: str
    flow: str
    shape: str
    expected: str
    input: dict = None
    seed: list = field(default_factory=list)
    # end -> {(service, resource): figure}: where the saga's resources must stand after it
    # ended that way (completed or compensated), from the participants' own state.
    holdings: dict = field(default_factory=lambda: {"completed": {}, "compensated": {}})
    # Published by the driver once the saga waits; `payment_of_booking` events take the
    # payment id the saga got from the payments service (None in the body until then).
    events: list = field(default_factory=list)
    # All_SalesOrder: the event that starts the saga, instead of POST /api/sagas.
    start_event: Event = None
    # order_cancellation of a paid order: the order_payment saga to complete first; its
    # order id is the cancellation's input.
    needs_paid_order: "Saga" = None


def _hold(saga, resource, if_completed, if_compensated):
    saga.holdings["completed"][resource] = if_completed
    saga.holdings["compensated"][resource] = if_compensated


def _offer_purchase(key, shape):
    user, offer = f"{key}-user", f"{key}-offer"
    balance = {"enough points": 1000, "not enough points": 100, "sold out after the debit": 1000}
    s = Saga(key, "offer_purchase", shape, "completed" if shape == "enough points" else "compensated",
             {"user_id": user, "offer_id": offer, "price": 400})
    s.seed.append(["points.open_account", user, balance[shape]])
    if shape == "sold out after the debit":
        s.seed.append(["offers.sell_out", offer])
    _hold(s, ("points", user), balance[shape] - 400, balance[shape])
    return s


def _user_registration(key, shape):
    user, name = f"{key}-user", f"{key}-name"
    s = Saga(key, "user_registration", shape, "completed" if shape == "a new user" else "compensated",
             {"user_id": user, "username": name, "email": f"{name}@example.test"})
    if shape == "billing refuses a blocked user":
        s.seed.append(["billing.block", user])
    if shape == "username already taken":
        s.seed.append(["users.add_user", f"{key}-old", name, f"{key}-old@example.test"])
    return s


def _order_input(user, product, quantity, coupon=None):
    o = {"user_id": user, "product_id": product, "quantity": quantity, "price": 500}
    if coupon is not None:
        o["coupon"] = coupon
    return o


def _order_payment(key, shape):
    user, product, coupon = f"{key}-user", f"{key}-product", f"{key}-coupon"
    funds = 100 if shape == "insufficient funds" else 5000
    stock = 1 if shape == "out of stock" else 5
    quantity = 2 if shape == "out of stock" else 1
    with_coupon = shape in ("paid with a coupon", "an expired coupon")
    completed = shape in ("paid without a coupon", "paid with a coupon")
    s = Saga(key, "order_payment", shape, "completed" if completed else "compensated",
             _order_input(user, product, quantity, coupon if with_coupon else None))
    s.seed += [["billing.open_account", user, funds],
               ["notifications.save_contact", user, f"{user}@example.test"],
               ["inventory.add_stock", product, stock]]
    if with_coupon:
        s.seed.append(["coupons.add_coupon", coupon, 100])
    if shape == "an expired coupon":
        s.seed.append(["coupons.expire", coupon])
    charged = 500 * quantity - (100 if with_coupon else 0)
    _hold(s, ("billing", user), funds - charged, funds)
    _hold(s, ("inventory", product), stock - quantity, stock)
    return s


def _order_cancellation(key, shape):
    if shape == "an order that does not exist":
        return Saga(key, "order_cancellation", shape, "compensated", {"order_id": f"{key}-no-order"})
    paid = _order_payment(f"{key}-order", "paid without a coupon")
    paid.shape = "paid, to be cancelled"
    s = Saga(key, "order_cancellation", shape, "completed", None, needs_paid_order=paid)
    # Cancelled: the refund and the stock put back leave the account and product as seeded.
    user, product = f"{paid.key}-user", f"{paid.key}-product"
    _hold(s, ("billing", user), 5000, 4500)
    _hold(s, ("inventory", product), 5, 4)
    return s


def _coupon_issue(key, shape):
    coupon = f"{key}-coupon"
    users = [f"{key}-u{n}" for n in range(3)]
    s = Saga(key, "coupon_issue", shape, "completed" if shape == "issued to three users" else "compensated",
             {"coupon_id": coupon, "discount": 200, "user_ids": users})
    for n, user in enumerate(users):
        if shape == "one target user is unknown" and n == 1:
            continue
        s.seed += [["users.add_user", user, f"{user}-name", f"{user}@example.test"],
                   ["notifications.save_contact", user, f"{user}@example.test"]]
    if shape == "the coupon exists already":
        s.seed.append(["coupons.add_coupon", coupon, 50])
    return s


def _points_charge(key, shape):
    user, card = f"{key}-user", f"{key}-card"
    completed = shape == "card charged, points added"
    s = Saga(key, "points_charge", shape, "completed" if completed else "compensated",
             {"user_id": user, "amount": 2500, "method": card})
    s.seed += [["points.open_account", user, 0], ["payment_gateway.register_method", card, 10000]]
    if shape == "card declined":
        s.seed.append(["payment_gateway.decline", card])
    if shape == "points account frozen: the charge is refunded":
        s.seed.append(["points.freeze", user])
    _hold(s, ("points", user), 2500, 0)
    _hold(s, ("payment_gateway", card), 7500, 10000)
    return s


def _certificate_line(line, code, denomination):
    return {"orderLineId": line, "code": code, "plannedDenomination": denomination,
            "intendedRecipient": {"name": "Anna", "phone": "+79161234567"}}


def _all_payments(order, version, captured, outstanding, allocations, message_id, duplicate=False):
    return Event("All_Payments",
                 {"orderId": order, "paymentVersion": version, "capturedAmount": captured,
                  "outstandingAmount": outstanding, "isOrderSettled": outstanding == 0,
                  "certificateAllocations": allocations},
                 message_id, duplicate)


def _certificate_activation(key, shape):
    order = key  # the trigger's key: the saga's idempotency key is the order id
    first, second = f"{key}-GC1", f"{key}-GC2"
    lines = [_certificate_line("l1", first, 3000), _certificate_line("l2", second, 2000)]
    paid = shape == "two certificates paid in two parts, one event twice"
    s = Saga(key, "certificate_activation", shape, "completed" if paid else "compensated",
             {"orderId": order, "certificateLines": lines})
    s.start_event = Event("All_SalesOrder", dict(s.input), f"sales-order/{order}")
    s.seed.append(["certificates.add_code", first])
    if paid:
        s.seed.append(["certificates.add_code", second])
        part = [{"orderLineId": "l1", "collectedAmount": 3000}]
        whole = part + [{"orderLineId": "l2", "collectedAmount": 2000}]
        s.events = [_all_payments(order, 1, 3000, 2000, part, f"pay-{order}/1"),
                    _all_payments(order, 1, 3000, 2000, part, f"pay-{order}/1", duplicate=True),
                    _all_payments(order, 2, 5000, 0, whole, f"pay-{order}/2")]
        _hold(s, ("certificates", first), 3000, 0)
        _hold(s, ("certificates", second), 2000, 0)
    else:
        s.seed.append(["certificates.issue", second, 1000])  # sold long ago
        _hold(s, ("certificates", first), 3000, 0)
        _hold(s, ("certificates", second), 1000, 1000)
    return s


def _certificate_redemption(key, shape):
    code, payment = f"{key}-GC", f"{key}-pay"
    balance = 1000 if shape == "more than the balance: refused at the hold" else 5000
    amount = {"payment confirmed: part of the balance captured": 1200,
              "more than the balance: refused at the hold": 1500,
              "payment failed: the hold is released": 700,
              "the payment owes less than the capture: voided": 1200}[shape]
    owed = 500 if shape == "the payment owes less than the capture: voided" else 3000
    completed = shape == "payment confirmed: part of the balance captured"
    s = Saga(key, "certificate_redemption", shape, "completed" if completed else "compensated",
             {"code": code, "amount": amount, "payment_id": payment, "order_id": f"{key}-order"})
    s.seed += [["certificates.issue", code, balance], ["payments.open_payment", payment, owed]]
    if shape == "payment failed: the hold is released":
        s.events = [Event("payment.failed", {"payment_id": payment}, f"payment.failed/{payment}")]
    elif shape != "more than the balance: refused at the hold":
        s.events = [Event("payment.confirmed", {"payment_id": payment}, f"payment.confirmed/{payment}")]
    _hold(s, ("certificates", code), balance - amount, balance)
    return s


def _booking_payment(key, shape):
    slot = f"{key}-slot"
    unavailable = shape == "slot unavailable"
    s = Saga(key, "booking_payment", shape, "compensated" if unavailable else "completed",
             {"customer_id": f"{key}-customer", "slot_id": slot, "amount": 1500})
    s.seed.append(["booking.add_slot", slot, 0 if unavailable else 1])

    def result(status, duplicate=False):
        return Event(f"payment.{status}", {"payment_id": None, "amount": 1500, "status": status},
                     f"payment.{status}/", duplicate)

    if shape == "the client pays":
        s.events = [result("succeeded")]
    elif shape == "payment fails, then the client pays again":
        s.events = [result("failed"), result("succeeded")]
    elif shape == "the gateway calls the webhook twice":
        s.events = [result("succeeded"), result("succeeded", duplicate=True)]
    _hold(s, ("booking", slot), 1, 0)
    return s


SHAPES = {
    "offer_purchase": (_offer_purchase, ["enough points", "not enough points", "sold out after the debit"]),
    "user_registration": (_user_registration,
                          ["a new user", "billing refuses a blocked user", "username already taken"]),
    "order_payment": (_order_payment, ["paid without a coupon", "paid with a coupon", "an expired coupon",
                                       "out of stock", "insufficient funds"]),
    "order_cancellation": (_order_cancellation, ["cancel a paid order", "an order that does not exist"]),
    "coupon_issue": (_coupon_issue, ["issued to three users", "one target user is unknown",
                                     "the coupon exists already"]),
    "points_charge": (_points_charge, ["card charged, points added", "card declined",
                                       "points account frozen: the charge is refunded"]),
    "certificate_activation": (_certificate_activation,
                               ["two certificates paid in two parts, one event twice",
                                "a code already sold: the other line is released"]),
    "certificate_redemption": (_certificate_redemption,
                               ["payment confirmed: part of the balance captured",
                                "more than the balance: refused at the hold",
                                "payment failed: the hold is released",
                                "the payment owes less than the capture: voided"]),
    "booking_payment": (_booking_payment, ["the client pays", "slot unavailable",
                                           "payment fails, then the client pays again",
                                           "the gateway calls the webhook twice"]),
}


def make_sagas(count, seed):
    """`count` sagas of all nine flows, flows and shapes drawn from `seed`, in start order. An
    order_cancellation of a paid order brings its order_payment saga along (not counted)."""
    rng = random.Random(seed)
    sagas = []
    for i in range(count):
        flow = FLOWS[i % len(FLOWS)] if i < len(FLOWS) else rng.choice(FLOWS)
        build, shapes = SHAPES[flow]
        sagas.append(build(f"c{seed}-{i}", rng.choice(shapes)))
    return sagas


def all_sagas(sagas):
    """Every saga the run starts: the planned ones and the orders they cancel."""
    out = []
    for s in sagas:
        if s.needs_paid_order is not None:
            out.append(s.needs_paid_order)
        out.append(s)
    return out


def seed_calls(sagas):
    return [call for s in all_sagas(sagas) for call in s.seed]


def expected_holdings(sagas, ends):
    """{(service, resource): figure} for the sagas as they actually ended (`ends`: key -> status):
    conservation is checked against what happened, apart from whether it was what the input
    said. The resources of a saga that did not end completed or compensated (parked, never
    started) are left out. A cancellation comes after its order and decides its resources."""
    out = {}
    for s in all_sagas(sagas):
        figures = s.holdings.get(ends.get(s.key))
        for resource in s.holdings["completed"]:
            if figures is None:
                out.pop(resource, None)
            else:
                out[resource] = figures[resource]
    return out


def stray_events(count, seed):
    """Events nobody waits for, injected on purpose: each must end in the dead-letter queue."""
    return [Event("payment.succeeded", {"payment_id": f"stray-{seed}-{n}", "amount": 1},
                  f"payment.succeeded/stray-{seed}-{n}") for n in range(count)]
