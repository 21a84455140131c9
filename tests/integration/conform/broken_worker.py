#!/usr/bin/env python3
"""A deliberately broken points worker (raw pika) that `sagactl conform` must fail: it applies
every delivery again (a fresh reservation each time, so a duplicate gets another answer),
omits causation-id, and dead-letters a body over the size limit with a reason code protocol.md
does not have. Usage: broken_worker.py AMQP_URL PREFIX READY_FILE"""

import json
import sys

import pika

url, prefix, ready_file = sys.argv[1:4]
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()
queue = f"{prefix}.commands.points"
arguments = {"x-queue-type": "quorum", "x-dead-letter-exchange": f"{prefix}.dead",
             "x-delivery-limit": 3}
channel.exchange_declare(f"{prefix}.commands", exchange_type="topic", durable=True)
channel.exchange_declare(f"{prefix}.dead", exchange_type="fanout", durable=True)
channel.queue_declare(queue, durable=True, arguments=arguments)
channel.queue_bind(queue, f"{prefix}.commands", routing_key="points")
applied = 0


def on_command(ch, deliver, props, body):
    global applied  # pylint: disable=global-statement
    if len(body) > 1048576:
        headers = dict(props.headers or {})
        headers.update({"x-sagaflow-reason": "too big", "x-sagaflow-reason-code": "too_big",
                        "x-sagaflow-queue": queue})
        props.headers = headers
        ch.basic_publish(f"{prefix}.dead", queue, body, props)
        ch.basic_ack(deliver.delivery_tag)
        return
    applied += 1
    headers = {"sagaflow-kind": "reply", "outcome": "success"}
    for name in ("attempt", "flow", "step", "idempotency-key", "traceparent"):
        if name in (props.headers or {}):
            headers[name] = props.headers[name]
    reply = pika.BasicProperties(message_id=f"{props.message_id}/reply", type=props.type,
                                 correlation_id=props.correlation_id,
                                 content_type="application/json", delivery_mode=2,
                                 headers=headers)
    if props.reply_to:
        ch.basic_publish("", props.reply_to, json.dumps({"reservation_id": f"res-{applied}"}),
                         reply)
    ch.basic_ack(deliver.delivery_tag)


channel.basic_consume(queue, on_command)
with open(ready_file, "w", encoding="utf-8") as f:
    f.write("ready\n")
channel.start_consuming()
