"""`tiltas batch submit` follows a batch through the API to the end, or says in one line why not."""

from __future__ import annotations

import pytest

from cli.batch import submit
from tests.support.documents import running_worker
from tests.support.factories import World, protocols
from tiltas.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


def test_submit_follows_the_batch_to_the_end(
    world: World, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    commission, items = protocols(world, 2)
    world.client.headers.update(commission)
    with running_worker(settings):
        status = submit(world.client, {"documents": items, "sign": False}, wait=True)
    out = capsys.readouterr()
    assert status == 0, out
    assert ": completed; generated 2" in out.out
    assert "documents" in out.err  # the progress bar

    items[1] = {**items[1], "case_id": "no-such-case"}
    with pytest.raises(SystemExit) as refused:
        submit(world.client, {"documents": items}, wait=True)
    assert refused.value.code == 2
    assert "documents.1.case_id" in capsys.readouterr().err
