"""Idempotency-Key on POST and optimistic concurrency under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.factories import World, release_case
from tiltas.access import Role


def _count_cases(world: World) -> int:
    page = world.client.get(
        "/v1/cases", params={"limit": 200}, headers=world.institution.auth(Role.director)
    )
    return len(page.json()["items"])


def test_retried_post_returns_first_result(world: World) -> None:
    headers = {**world.institution.auth(Role.director), "Idempotency-Key": "dms-42-create"}
    first = world.client.post("/v1/cases", json=release_case(world), headers=headers)
    second = world.client.post("/v1/cases", json=release_case(world), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count_cases(world) == 1


def test_same_key_different_request_is_refused(world: World) -> None:
    headers = {**world.institution.auth(Role.director), "Idempotency-Key": "dms-43"}
    assert (
        world.client.post("/v1/cases", json=release_case(world), headers=headers).status_code == 201
    )
    other = release_case(world)
    other["subject"]["first_name"] = "Kazys"
    response = world.client.post("/v1/cases", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"].endswith("idempotency_key_reused")
    assert _count_cases(world) == 1


def test_keys_are_per_organisation(world: World) -> None:
    """Another organisation using the same key string makes its own record."""
    admin_a = {**world.institution.auth(Role.admin), "Idempotency-Key": "k1"}
    admin_b = {**world.orgs["probation"].auth(Role.admin), "Idempotency-Key": "k1"}
    body = {
        "code": "123456780",
        "name": "VšĮ „Pagalba“",
        "kind": "ngo",
        "address": "Kaunas",
        "email": "a@b.lt",
    }
    assert world.client.post("/v1/organisations", json=body, headers=admin_a).status_code == 201
    second = world.client.post(
        "/v1/organisations", json={**body, "code": "123456781"}, headers=admin_b
    )
    assert second.status_code == 201
    assert second.json()["code"] == "123456781"


def test_failed_request_can_be_retried_with_the_same_key(world: World) -> None:
    headers = {**world.institution.auth(Role.director), "Idempotency-Key": "dms-44"}
    bad = release_case(world)
    bad["kind"] = "parole"
    assert world.client.post("/v1/cases", json=bad, headers=headers).status_code == 422
    assert (
        world.client.post("/v1/cases", json=release_case(world), headers=headers).status_code == 201
    )


def test_concurrent_retries_make_one_record(world: World) -> None:
    headers = {**world.institution.auth(Role.director), "Idempotency-Key": "dms-burst"}
    payload = release_case(world)
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda _: world.client.post("/v1/cases", json=payload, headers=headers), range(8)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count_cases(world) == 1


def test_concurrent_updates_one_wins(world: World) -> None:
    staff = world.institution.auth(Role.director)
    case_id = world.client.post("/v1/cases", json=release_case(world), headers=staff).json()["id"]

    def update(index: int) -> int:
        change = {"needs": [{"area": "debts", "description": f"Skola nr. {index}"}]}
        response = world.client.patch(
            f"/v1/cases/{case_id}", json=change, headers={**staff, "If-Match": '"1"'}
        )
        return response.status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(update, range(6)))
    assert codes == [200, 412, 412, 412, 412, 412]
    assert world.client.get(f"/v1/cases/{case_id}", headers=staff).json()["version"] == 2
