"""Enqueueing work for the workers (the API never runs it itself)."""

from __future__ import annotations

from celery import Celery

from tiltas.messaging import celery_config
from tiltas.settings import Settings


def make_producer(settings: Settings) -> Celery:
    producer = Celery("tiltas-api")
    producer.conf.update(celery_config(settings))
    return producer
