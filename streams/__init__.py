"""Streams: the Faust topology, the `txmon` command, simulator, replay and demo (the top layer)."""
