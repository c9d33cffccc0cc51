"""Outbox → RabbitMQ → consumer: business counters follow bookings, duplicates change nothing."""

import json

import pika

from app.common.rabbitmq import parameters
from tests.lab.tickets.conftest import book
from tests.support import wait_until


def stats(client, operator, event_id):
    return client.get(f"/v1/events/{event_id}/stats", headers=operator).json()


def test_bookings_and_cancellations_reach_the_counters(client, new_event, shard_db, session, operator):
    event, seats = new_event(price="25.50")
    first = book(client, session, event["id"], seats[:3]).json()
    book(client, session, event["id"], seats[3:4])
    wait_until(lambda: stats(client, operator, event["id"])["tickets_sold"] == 4, 20, "4 tickets counted")
    assert stats(client, operator, event["id"])["revenue"] == "102.00"

    client.post(f"/v1/bookings/{first['id']}/cancel", headers=session)
    wait_until(lambda: stats(client, operator, event["id"])["tickets_sold"] == 1, 20, "the cancellation counted")
    kinds = (
        shard_db("msk")
        .execute("SELECT kind FROM notifications WHERE booking_id = %s ORDER BY id", (first["id"],))
        .fetchall()
    )
    assert [k["kind"] for k in kinds] == ["booking.confirmed", "booking.cancelled"]


def test_a_redelivered_event_is_counted_once(client, new_event, shard_db, app_settings, session, operator):
    event, seats = new_event()
    booking = book(client, session, event["id"], seats[:2]).json()
    wait_until(lambda: stats(client, operator, event["id"])["tickets_sold"] == 2, 20, "2 tickets counted")
    row = (
        shard_db("msk")
        .execute("SELECT id, routing_key, payload FROM outbox WHERE payload->>'booking_id' = %s", (str(booking["id"]),))
        .fetchone()
    )

    # Publish the same outbox row again, as a relay that lost its connection after the
    # broker's confirm but before its commit would.
    connection = pika.BlockingConnection(parameters(app_settings.rabbitmq))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            app_settings.rabbitmq.exchange,
            row["routing_key"],
            json.dumps(row["payload"]).encode(),
            pika.BasicProperties(message_id=f"msk:{row['id']}", delivery_mode=2),
            mandatory=True,
        )
    finally:
        connection.close()
    marker = book(client, session, event["id"], seats[2:3])  # a later event, consumed after the duplicate
    assert marker.status_code == 201
    wait_until(lambda: stats(client, operator, event["id"])["tickets_sold"] == 3, 20, "the later booking counted")
    assert stats(client, operator, event["id"])["tickets_sold"] == 3
