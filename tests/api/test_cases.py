"""Cases API: create, read, update with If-Match, list with filters and cursors."""

from __future__ import annotations

from tests.support.factories import World, care_case, release_case
from tiltas.access import Role

PROBLEM = "application/problem+json"


def test_create_read_update_round_trip(world: World) -> None:
    client = world.client
    staff = world.institution.auth(Role.institution_staff)
    created = client.post("/v1/cases", json=release_case(world), headers=staff)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["warnings"] == []
    assert body["version"] == 1
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Location"] == f"/v1/cases/{body['id']}"
    assert body["subject"]["last_name"] == "Žemaitis"
    codes = {p["code"] for p in body["participants"]}
    assert codes == {
        world.institution.code,
        world.orgs["municipality"].code,
        world.orgs["probation"].code,
    }

    read = client.get(f"/v1/cases/{body['id']}", headers=staff)
    assert read.status_code == 200
    assert read.headers["ETag"] == '"1"'
    assert read.json()["risk"]["level"] == "medium"

    subject = {**body["subject"], "possible_release_date": "2027-04-01"}
    updated = client.patch(
        f"/v1/cases/{body['id']}", json={"subject": subject}, headers={**staff, "If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert updated.headers["ETag"] == '"2"'
    assert updated.json()["subject"]["possible_release_date"] == "2027-04-01"
    assert updated.json()["risk"]["level"] == "medium"  # sections not sent stay as they were


def test_update_needs_current_version(world: World) -> None:
    client = world.client
    staff = world.institution.auth(Role.institution_staff)
    case_id = client.post("/v1/cases", json=release_case(world), headers=staff).json()["id"]
    change = {"needs": [{"area": "employment", "description": "Ieško darbo"}]}

    missing = client.patch(f"/v1/cases/{case_id}", json=change, headers=staff)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == PROBLEM

    assert (
        client.patch(
            f"/v1/cases/{case_id}", json=change, headers={**staff, "If-Match": '"1"'}
        ).status_code
        == 200
    )
    stale = client.patch(f"/v1/cases/{case_id}", json=change, headers={**staff, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert stale.headers["ETag"] == '"2"'
    assert client.get(f"/v1/cases/{case_id}", headers=staff).json()["version"] == 2


def test_list_filters_and_cursor_pagination(world: World) -> None:
    client = world.client
    staff = world.institution.auth(Role.institution_staff)
    director = world.institution.auth(Role.director)
    ids = []
    for month in range(1, 8):
        payload = release_case(world)
        payload["subject"]["possible_release_date"] = f"2027-{month:02d}-10"
        if month % 2:
            payload["subject"]["intended_residence"]["municipality"] = "kauno-m"
        ids.append(client.post("/v1/cases", json=payload, headers=staff).json()["id"])
    care_id = client.post("/v1/cases", json=care_case(world), headers=director).json()["id"]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3, "kind": "conditional_release"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/cases", params=params, headers=staff)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert care_id not in seen

    kaunas = client.get("/v1/cases", params={"municipality": "kauno-m"}, headers=staff).json()[
        "items"
    ]
    assert [c["id"] for c in kaunas] == ids[0::2]
    window = client.get(
        "/v1/cases",
        params={"release_from": "2027-03-01", "release_to": "2027-05-31"},
        headers=staff,
    ).json()["items"]
    assert [c["id"] for c in window] == ids[2:5]

    bad = client.get("/v1/cases", params={"cursor": "not-a-cursor"}, headers=staff)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"


def test_a_list_item_is_the_case_as_read_alone(world: World) -> None:
    """The list sends cases as stored, the single read validates them: same content."""
    client = world.client
    director = world.institution.auth(Role.director)
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    municipality = [world.orgs["municipality"].code]
    made = [
        client.post("/v1/cases", json=payload, headers=director).json()["id"]
        for payload in (
            release_case(world, participants=municipality),
            care_case(world, participants=municipality),
        )
    ]
    for reader in (director, social_worker):
        listed = client.get("/v1/cases", headers=reader).json()["items"]
        assert [item["id"] for item in listed] == made
        for item in listed:
            alone = client.get(f"/v1/cases/{item['id']}", headers=reader).json()
            assert item == alone


def test_foreign_organisation_cannot_see_case(world: World) -> None:
    client = world.client
    staff = world.institution.auth(Role.institution_staff)
    case_id = client.post("/v1/cases", json=release_case(world), headers=staff).json()["id"]
    foreign = world.orgs["correctional_institution_2"].auth(Role.institution_staff)
    assert client.get(f"/v1/cases/{case_id}", headers=foreign).status_code == 404
    assert client.get("/v1/cases", headers=foreign).json()["items"] == []
    change = client.patch(
        f"/v1/cases/{case_id}", json={"people": []}, headers={**foreign, "If-Match": "*"}
    )
    assert change.status_code == 404


def test_municipality_never_sees_risk_or_health(world: World) -> None:
    client = world.client
    director = world.institution.auth(Role.director)
    care = care_case(world, participants=[world.orgs["municipality"].code])
    release_id = client.post("/v1/cases", json=release_case(world), headers=director).json()["id"]
    care_id = client.post("/v1/cases", json=care, headers=director).json()["id"]
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    release = client.get(f"/v1/cases/{release_id}", headers=social_worker).json()
    assert "risk" not in release and "health" not in release
    assert release["needs"][0]["area"] == "housing"
    care_view = client.get(f"/v1/cases/{care_id}", headers=social_worker).json()
    assert "health" not in care_view
    listed = client.get("/v1/cases", headers=social_worker).json()["items"]
    assert all("risk" not in c and "health" not in c for c in listed) and len(listed) == 2
    # ... and cannot write them either.
    write = client.patch(
        f"/v1/cases/{release_id}",
        json={"risk": {"level": "low"}},
        headers={**social_worker, "If-Match": "*"},
    )
    assert write.status_code == 403
    assert (
        client.get(f"/v1/cases/{release_id}", headers=director).json()["risk"]["level"] == "medium"
    )
