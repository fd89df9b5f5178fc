"""Feed tokens: a calendar application reads the organisation's deadlines feed with a token in
the URL instead of an API key; revoked or wrong tokens see nothing."""

from __future__ import annotations

from icalendar import Calendar

from tests.support.deliveries import new_case, on_day
from tests.support.factories import World, release_case
from tiltas.access import Role


def _token(
    world: World, org: str = "correctional_institution", role: Role = Role.director
) -> dict[str, str]:
    response = world.client.post(
        "/v1/feed-tokens", json={"label": "Outlook kalendorius"}, headers=world.orgs[org].auth(role)
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_a_token_opens_the_feed_without_an_api_key(world: World) -> None:
    new_case(world, release_case(world))
    issued = _token(world)
    assert issued["token"].startswith("ftk_")
    assert issued["feed_path"] == f"/v1/feeds/{issued['token']}/deadlines.ics"
    with on_day(world, "2026-04-28"):
        feed = world.client.get(issued["feed_path"])
        listed = world.client.get("/v1/deadlines", headers=world.institution.auth(Role.director))
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    assert feed.headers["cache-control"] == "private, no-store"
    events = list(Calendar.from_ical(feed.content).walk("VEVENT"))
    assert len(events) == len(listed.json()) > 0
    text = feed.content.decode()
    assert "Žemaitis" not in text and "Jonas" not in text


def test_a_revoked_wrong_or_malformed_token_sees_nothing(world: World) -> None:
    issued = _token(world)
    token = issued["token"]
    prefix, token_id, secret = token.split("_", 2)
    for bad in (f"{prefix}_{token_id}_{secret[:-1]}x", f"tlt_{token_id}_{secret}", "nonsense"):
        assert world.client.get(f"/v1/feeds/{bad}/deadlines.ics").status_code == 404
    foreign = world.orgs["correctional_institution_2"].auth(Role.director)
    assert (
        world.client.post(f"/v1/feed-tokens/{token_id}/revoke", headers=foreign).status_code == 404
    )
    assert world.client.get(issued["feed_path"]).status_code == 200
    revoked = world.client.post(
        f"/v1/feed-tokens/{token_id}/revoke", headers=world.institution.auth(Role.institution_staff)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert world.client.get(issued["feed_path"]).status_code == 404
    listed = world.client.get("/v1/feed-tokens", headers=world.institution.auth(Role.director))
    assert [(t["id"], "token" in t) for t in listed.json()] == [(token_id, False)]


def test_a_token_shows_only_its_own_organisations_cases(world: World) -> None:
    new_case(world, release_case(world))
    foreign = _token(world, "correctional_institution_2")
    feed = world.client.get(foreign["feed_path"])
    assert feed.status_code == 200
    assert list(Calendar.from_ical(feed.content).walk("VEVENT")) == []


def test_roles_without_deadlines_get_no_token(world: World) -> None:
    for org, role in (
        ("correctional_institution", Role.admin),
        ("archive", Role.archivist),
        ("ngo", Role.auditor),
    ):
        response = world.client.post("/v1/feed-tokens", json={}, headers=world.orgs[org].auth(role))
        assert response.status_code == 403, (role, response.text)
    assert world.client.post("/v1/feed-tokens", json={}).status_code == 401
