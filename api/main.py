"""ASGI entry point: ``uvicorn api.main:app`` (``tiltas serve`` runs it)."""

from __future__ import annotations

import gc
import sys

from api.app import create_app
from tiltas.settings import Settings

app = create_app(Settings())

# What is loaded by now (libraries, the app, templates) lives as long as the process: moved out
# of the collector's sight, a full collection no longer walks ≈ 280,000 objects, a pause of
# ≈ 140 ms for every request in flight (measured in-process with gc.callbacks).
gc.collect()
gc.freeze()

# A thread back from the database waits for the running thread to give up the GIL: up to the
# switch interval (5 ms by default) for every round trip of every request in flight.
sys.setswitchinterval(0.001)
