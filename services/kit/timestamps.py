"""Moments as the services keep them (UTC microseconds since the epoch) and as protobuf
carries them (``google.protobuf.Timestamp``)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Exact, unlike ``moment.timestamp()``, whose float loses microseconds after 2255."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def timestamp(moment: datetime | int) -> timestamp_pb2.Timestamp:
    """A Timestamp of an aware datetime, or of microseconds since the epoch."""
    stamp = timestamp_pb2.Timestamp()
    if isinstance(moment, datetime):
        stamp.FromDatetime(moment)
    else:
        stamp.FromMicroseconds(moment)
    return stamp
