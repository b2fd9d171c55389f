"""Emails through GOV.UK Notify: the queue of messages (queue.py) and the sender (sender.py).

A message is recorded once, under its idempotency key, before anything is sent;
the sender sends each at most once (Notify's `reference` is that key), or, with
no API key, writes it to the outbox folder as an `.eml` file.
"""
