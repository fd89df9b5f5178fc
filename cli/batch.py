"""``tiltas batch``: send a batch of documents to a running service and follow it with a
progress bar. Talks to the HTTP API like a DMS does (an API key, never the database)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

FINISHED = ("signed", "failed", "cancelled")


@contextmanager
def _client(api: str, key: str) -> Iterator[httpx.Client]:
    """A client for the API; an unreachable service is a one-line error, not a traceback."""
    try:
        with httpx.Client(
            base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            yield client
    except httpx.HTTPError as error:
        _fail(f"{api}: {error}")


def _fail(message: str) -> NoReturn:
    click.echo(f"tiltas: {message}", err=True)
    sys.exit(2)


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") or []
    where = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return f"{body.get('detail', response.status_code)}" + (f" ({where})" if where else "")


def finished_count(batch: dict[str, Any]) -> int:
    counts: dict[str, int] = batch["counts"]
    done = sum(counts.get(state, 0) for state in FINISHED)
    return done if batch["sign"] else done + counts.get("generated", 0)


def summary(batch: dict[str, Any]) -> str:
    counts = ", ".join(f"{state} {n}" for state, n in batch["counts"].items() if n)
    return f"batch {batch['id']}: {batch['state']}; {counts}"


def follow(client: httpx.Client, batch: dict[str, Any], *, poll_s: float = 0.5) -> dict[str, Any]:
    """Poll the batch until it is no longer running, drawing a progress bar on stderr."""
    with click.progressbar(
        length=batch["total"], label="documents", file=sys.stderr, show_pos=True
    ) as bar:
        shown = 0
        while True:
            done = finished_count(batch)
            bar.update(done - shown)
            shown = done
            if batch["state"] != "running":
                return batch
            time.sleep(poll_s)
            response = client.get(f"/v1/batches/{batch['id']}")
            if response.status_code != 200:
                _fail(_problem(response))
            batch = response.json()


def submit(client: httpx.Client, request: dict[str, Any], *, wait: bool) -> int:
    response = client.post("/v1/batches", json=request)
    if response.status_code != 202:
        _fail(_problem(response))
    batch = response.json()
    if wait:
        batch = follow(client, batch)
    click.echo(summary(batch))
    for failure in batch["failures"]:
        click.echo(f"  {failure['document_id']}: {failure['code']}: {failure['message']}")
    return 1 if batch["failures"] or batch["state"] == "cancelled" else 0


_api = click.option(
    "--api", envvar="TILTAS_API_URL", default="http://127.0.0.1:8000", show_default=True,
    help="The service's base URL (TILTAS_API_URL).",
)  # fmt: skip
_key = click.option(
    "--key", envvar="TILTAS_API_KEY", required=True, help="An API key (TILTAS_API_KEY)."
)


@click.group("batch")
def batch_group() -> None:
    """Batches of documents through a running service's API."""


@batch_group.command("submit")
@click.argument("request_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-wait", is_flag=True, help="Print the job and return at once.")
@_api
@_key
def submit_command(request_file: Path, no_wait: bool, api: str, key: str) -> None:
    """Send REQUEST_FILE (JSON: {"documents": [...], "sign": true}) and follow the job.
    Exit status 0 when every document is done, 1 when some failed or the batch was
    cancelled, 2 when the batch was refused."""
    try:
        request = json.loads(request_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        _fail(f"{request_file}: not JSON: {error}")
    with _client(api, key) as client:
        sys.exit(submit(client, request, wait=not no_wait))


@batch_group.command("status")
@click.argument("batch_id")
@_api
@_key
def status_command(batch_id: str, api: str, key: str) -> None:
    """Print a batch's state and counts."""
    with _client(api, key) as client:
        response = client.get(f"/v1/batches/{batch_id}")
        if response.status_code != 200:
            _fail(_problem(response))
        click.echo(summary(response.json()))


@batch_group.command("cancel")
@click.argument("batch_id")
@_api
@_key
def cancel_command(batch_id: str, api: str, key: str) -> None:
    """Cancel a batch: documents not yet made are not made; none is signed further."""
    with _client(api, key) as client:
        response = client.post(f"/v1/batches/{batch_id}/cancel")
        if response.status_code != 200:
            _fail(_problem(response))
        click.echo(summary(response.json()))
