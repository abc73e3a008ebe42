"""Webhook signatures and retry delays."""

from __future__ import annotations

import hashlib
import hmac
import random

from leadscore.actions.outbox import backoff_delay
from leadscore.actions.webhook import sign, verify


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == "v1=" + expected


def test_verify_checks_secret_body_and_age():
    body = b'{"a":1}'
    sig = sign("s3cret", 1700000000, body)
    assert verify("s3cret", body, sig, "1700000000", now=1700000100)
    assert not verify("other", body, sig, "1700000000", now=1700000100)
    assert not verify("s3cret", b'{"a":2}', sig, "1700000000", now=1700000100)
    assert not verify("s3cret", body, sig, "1700000000", now=1700000000 + 301)  # replayed
    assert not verify("s3cret", body, sig, "nope", now=1700000000)


def test_backoff_doubles_with_jitter_and_a_cap():
    rng = random.Random(0)
    for attempts, full in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        for _ in range(50):
            d = backoff_delay(attempts, 2.0, 60.0, rng)
            assert full * 0.5 <= d <= full
