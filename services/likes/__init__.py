"""The likes service: likes/dislikes, "not interested", "more like this", the event log."""
