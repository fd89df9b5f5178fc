"""Every role × endpoint × own/foreign organisation, against a table written out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.factories import World, care_case, release_case
from tiltas.access import OrganisationKind, Role

# The organisation each role's key belongs to ("own"); the foreign one is its "_2" twin.
HOME = {
    Role.institution_staff: "correctional_institution",
    Role.health_unit: "correctional_institution",
    Role.director: "correctional_institution",
    Role.probation_officer: "probation",
    Role.social_worker: "municipality",
    Role.commission: "commission",
    Role.archivist: "archive",
    Role.auditor: "ngo",
    Role.admin: "correctional_institution",
}

ENDPOINTS = [
    "list municipalities",
    "list organisations",
    "read organisation",
    "create organisation",
    "update organisation",
    "create case A",
    "create case B",
    "list cases",
    "read own case",
    "read foreign case",
    "update own case",
    "update foreign case",
    "create api key",
    "list api keys",
    "revoke api key",
    "read audit log",
    "verify audit log",
    "read calendar",
    "replace calendar overrides",
    "read own case deadlines",
    "read foreign case deadlines",
    "list organisation deadlines",
    "deadlines feed",
]

OK, CREATED, FORBIDDEN, NOT_FOUND = 200, 201, 403, 404
_CASE_WORKER = {
    "list municipalities": OK, "list organisations": OK, "read organisation": OK,
    "create organisation": FORBIDDEN, "update organisation": FORBIDDEN,
    "create case A": FORBIDDEN, "create case B": FORBIDDEN,
    "list cases": OK, "read own case": OK, "read foreign case": NOT_FOUND,
    "update own case": OK, "update foreign case": NOT_FOUND,
    "create api key": FORBIDDEN, "list api keys": FORBIDDEN, "revoke api key": FORBIDDEN,
    "read audit log": FORBIDDEN, "verify audit log": FORBIDDEN,
    "read calendar": OK, "replace calendar overrides": FORBIDDEN,
    "read own case deadlines": OK, "read foreign case deadlines": NOT_FOUND,
    "list organisation deadlines": OK, "deadlines feed": OK,
}  # fmt: skip
_NO_CASES = {
    **_CASE_WORKER,
    "list cases": FORBIDDEN, "read own case": FORBIDDEN, "read foreign case": FORBIDDEN,
    "update own case": FORBIDDEN, "update foreign case": FORBIDDEN,
    "read own case deadlines": FORBIDDEN, "read foreign case deadlines": FORBIDDEN,
    "list organisation deadlines": FORBIDDEN, "deadlines feed": FORBIDDEN,
}  # fmt: skip
EXPECTED: dict[Role, dict[str, int]] = {
    Role.institution_staff: {**_CASE_WORKER, "create case A": CREATED},
    Role.health_unit: {**_CASE_WORKER, "create case B": CREATED},
    Role.director: {**_CASE_WORKER, "create case A": CREATED, "create case B": CREATED},
    Role.probation_officer: _CASE_WORKER,
    Role.social_worker: _CASE_WORKER,
    Role.commission: _CASE_WORKER,
    Role.archivist: _NO_CASES,
    Role.auditor: {**_NO_CASES, "read audit log": OK, "verify audit log": OK},
    Role.admin: {
        **_NO_CASES, "create organisation": CREATED, "update organisation": OK,
        "create api key": CREATED, "list api keys": OK, "revoke api key": OK,
        "replace calendar overrides": OK,
    },
}  # fmt: skip

VISIBLE_SECTIONS: dict[Role, set[str]] = {
    Role.institution_staff: {"needs", "risk"},
    Role.health_unit: {"health"},
    Role.director: {"needs", "risk", "health"},
    Role.probation_officer: {"needs", "risk"},
    Role.social_worker: {"needs"},
    Role.commission: {"health"},
}


def _own_cases(world: World) -> tuple[str, str]:
    """One case of each kind in which every 'own' organisation takes part."""
    director = world.institution.auth(Role.director)
    everyone = [o.code for name, o in world.orgs.items() if not name.endswith("_2")]
    case_a = world.client.post(
        "/v1/cases", json=release_case(world, participants=everyone), headers=director
    )
    case_b = world.client.post(
        "/v1/cases", json=care_case(world, participants=everyone), headers=director
    )
    return case_a.json()["id"], case_b.json()["id"]


def _foreign_case(world: World) -> str:
    foreign = world.orgs["correctional_institution_2"]
    payload = release_case(world, participants=[])
    payload["subject"]["institution_code"] = foreign.code
    return str(
        world.client.post("/v1/cases", json=payload, headers=foreign.auth(Role.director)).json()[
            "id"
        ]
    )


def _call(world: World, endpoint: str, role: Role, ctx: dict[str, Any]) -> int:
    client = world.client
    home = world.orgs[HOME[role]]
    headers = home.auth(role)
    with_match = {**headers, "If-Match": "*"}
    requests: dict[str, Any] = {
        "list municipalities": lambda: client.get("/v1/municipalities", headers=headers),
        "list organisations": lambda: client.get("/v1/organisations", headers=headers),
        "read organisation": lambda: client.get(f"/v1/organisations/{home.code}", headers=headers),
        "create organisation": lambda: client.post(
            "/v1/organisations",
            json={"code": str(ctx["next_code"]), "name": "VšĮ Naujas", "kind": "ngo",
                  "address": "Vilnius", "email": "n@example.lt"},
            headers=headers,
        ),
        "update organisation": lambda: client.patch(
            f"/v1/organisations/{home.code}", json={"address": "Kauno g. 2, Vilnius"}, headers=with_match
        ),
        "create case A": lambda: client.post("/v1/cases", json=release_case(world), headers=headers),
        "create case B": lambda: client.post("/v1/cases", json=care_case(world), headers=headers),
        "list cases": lambda: client.get("/v1/cases", headers=headers),
        "read own case": lambda: client.get(f"/v1/cases/{ctx['own_a']}", headers=headers),
        "read foreign case": lambda: client.get(f"/v1/cases/{ctx['foreign']}", headers=headers),
        "update own case": lambda: client.patch(f"/v1/cases/{ctx['own_a']}", json={"people": []}, headers=with_match),
        "update foreign case": lambda: client.patch(
            f"/v1/cases/{ctx['foreign']}", json={"people": []}, headers=with_match
        ),
        "create api key": lambda: client.post(
            "/v1/api-keys", json={"organisation_code": home.code, "role": "auditor"}, headers=headers
        ),
        "list api keys": lambda: client.get("/v1/api-keys", headers=headers),
        "revoke api key": lambda: client.post(f"/v1/api-keys/{ctx['spare_key']}/revoke", headers=headers),
        "read audit log": lambda: client.get("/v1/audit", headers=headers),
        "verify audit log": lambda: client.get("/v1/audit/verify", headers=headers),
        "read calendar": lambda: client.get("/v1/calendar", headers=headers),
        "replace calendar overrides": lambda: client.put("/v1/calendar/overrides", json={}, headers=headers),
        "read own case deadlines": lambda: client.get(f"/v1/cases/{ctx['own_a']}/deadlines", headers=headers),
        "read foreign case deadlines": lambda: client.get(f"/v1/cases/{ctx['foreign']}/deadlines", headers=headers),
        "list organisation deadlines": lambda: client.get("/v1/deadlines", headers=headers),
        "deadlines feed": lambda: client.get("/v1/deadlines.ics", headers=headers),
    }  # fmt: skip
    response = requests[endpoint]()
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    return int(response.status_code)


def test_role_endpoint_matrix(world: World) -> None:
    own_a, _own_b = _own_cases(world)
    spare = world.client.post(
        "/v1/api-keys",
        json={"organisation_code": world.institution.code, "role": "auditor", "label": "spare"},
        headers=world.institution.auth(Role.admin),
    ).json()["key_id"]
    ctx: dict[str, Any] = {
        "own_a": own_a,
        "foreign": _foreign_case(world),
        "spare_key": spare,
        "next_code": 400000001,
    }
    mismatches = []
    for role in Role:
        for endpoint in ENDPOINTS:
            got = _call(world, endpoint, role, ctx)
            ctx["next_code"] += 1
            if got != EXPECTED[role][endpoint]:
                mismatches.append(
                    f"{role.value} / {endpoint}: expected {EXPECTED[role][endpoint]}, got {got}"
                )
    assert mismatches == []


def test_sections_by_role(world: World) -> None:
    own_a, own_b = _own_cases(world)
    for role, sections in VISIBLE_SECTIONS.items():
        headers = world.orgs[HOME[role]].auth(role)
        for case_id in (own_a, own_b):
            body = world.client.get(f"/v1/cases/{case_id}", headers=headers).json()
            shown = {s for s in ("needs", "risk", "health") if s in body}
            present = {s for s in shown if body[s] is not None}
            assert shown == sections, (role, body["kind"], shown)
            # The case really holds the data a role may not see: hiding is not emptiness.
            assert present <= sections
        listed = world.client.get("/v1/cases", headers=headers).json()["items"]
        for item in listed:
            assert {s for s in ("needs", "risk", "health") if s in item} == sections


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="},
     {"Authorization": "Bearer tlt_0000000000000000_wrongsecret"}],
)  # fmt: skip
def test_every_endpoint_needs_a_valid_key(world: World, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/v1/cases"), ("POST", "/v1/cases"), ("GET", "/v1/organisations"),
                         ("GET", "/v1/municipalities"), ("GET", "/v1/audit"), ("GET", "/v1/api-keys")]:  # fmt: skip
        response = world.client.request(
            method, path, headers=headers, json={} if method == "POST" else None
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_key_stops_working(world: World) -> None:
    admin = world.institution.auth(Role.admin)
    issued = world.client.post(
        "/v1/api-keys",
        json={"organisation_code": world.institution.code, "role": "director"},
        headers=admin,
    ).json()
    key_headers = {"Authorization": f"Bearer {issued['api_key']}"}
    assert world.client.get("/v1/cases", headers=key_headers).status_code == 200
    assert (
        world.client.post(f"/v1/api-keys/{issued['key_id']}/revoke", headers=admin).status_code
        == 200
    )
    assert world.client.get("/v1/cases", headers=key_headers).status_code == 401
    listed = world.client.get("/v1/api-keys", headers=admin).json()
    assert all("api_key" not in k for k in listed)


def test_role_must_fit_organisation_kind(world: World) -> None:
    admin = world.institution.auth(Role.admin)
    response = world.client.post(
        "/v1/api-keys",
        json={"organisation_code": world.orgs["municipality"].code, "role": "health_unit"},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"


def test_every_organisation_kind_has_a_role() -> None:
    from tiltas.access import ROLES_BY_ORGANISATION_KIND

    assert set(ROLES_BY_ORGANISATION_KIND) == set(OrganisationKind)
