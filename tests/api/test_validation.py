"""Bad input: each validation rule gives a 422 problem+json that names every invalid field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.factories import World, personal_code, release_case
from tiltas.access import Role

PROBLEM = "application/problem+json"
Mutation = Callable[[dict[str, Any], World], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(payload: dict[str, Any], _world: World) -> None:
        *parents, last = path.split(".")
        target: Any = payload
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


_DELETE = object()

WRONG_CHECK_DIGIT = personal_code(3, "850214", "123")[:-1] + str(
    (int(personal_code(3, "850214", "123")[-1]) + 1) % 10
)

CASES: list[tuple[str, Mutation, str]] = [
    (
        "wrong check digit",
        _set("subject.personal_code", WRONG_CHECK_DIGIT),
        "subject.personal_code",
    ),
    ("code too short", _set("subject.personal_code", "3850214123"), "subject.personal_code"),
    ("code with letters", _set("subject.personal_code", "3850214123X"), "subject.personal_code"),
    (
        "first digit 7",
        _set("subject.personal_code", personal_code(7, "850214", "123")),
        "subject.personal_code",
    ),
    ("no code and no birth date", _set("subject.personal_code", None), "subject"),
    ("unknown top-level field", _set("favourite_colour", "žalia"), "favourite_colour"),
    ("unknown nested field", _set("subject.nickname", "Jonukas"), "subject.nickname"),
    (
        "bad date",
        _set("subject.possible_release_date", "2027-02-30"),
        "subject.possible_release_date",
    ),
    (
        "date as words",
        _set("subject.possible_release_date", "kitą pavasarį"),
        "subject.possible_release_date",
    ),
    ("unknown case kind", _set("kind", "parole"), "kind"),
    ("unknown need area", _set("needs.0.area", "holidays"), "needs.0.area"),
    ("unknown person role", _set("people.0.role", "friend"), "people.0.role"),
    ("bad e-mail", _set("people.0.email", "ruta.at.example"), "people.0.email"),
    ("bad phone", _set("people.0.phone", "skambink"), "people.0.phone"),
    (
        "unknown municipality",
        _set("subject.intended_residence.municipality", "atlantida"),
        "subject.intended_residence.municipality",
    ),
    ("empty name", _set("subject.first_name", "  "), "subject.first_name"),
    ("bad risk level", _set("risk.level", "extreme"), "risk.level"),
    (
        "working capacity over 100",
        _set("health", {"working_capacity_percent": 140}),
        "health.working_capacity_percent",
    ),
    ("release date missing for process A", _set("subject.possible_release_date", _DELETE), ""),
    ("bad participant code format", _set("participants", ["12"]), "participants.0"),
]


@pytest.mark.parametrize(("name", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_is_a_clear_422(world: World, name: str, mutate: Mutation, field: str) -> None:
    payload = copy.deepcopy(release_case(world))
    mutate(payload, world)
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].startswith("urn:tiltas:problem:")
    fields = [e["field"] for e in problem["errors"]]
    assert all(e["message"] for e in problem["errors"])
    if field:
        assert field in fields, fields
    # Nothing was stored.
    listed = world.client.get("/v1/cases", headers=world.institution.auth(Role.director)).json()
    assert listed["items"] == []


def test_every_invalid_field_is_listed_at_once(world: World) -> None:
    payload = release_case(world)
    payload["subject"]["personal_code"] = WRONG_CHECK_DIGIT
    payload["people"][0]["email"] = "nope"
    payload["needs"][0]["area"] = "holidays"
    payload["extra"] = 1
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"subject.personal_code", "people.0.email", "needs.0.area", "extra"} <= fields


def test_wrong_check_digit_message_is_clear(world: World) -> None:
    payload = release_case(world)
    payload["subject"]["personal_code"] = WRONG_CHECK_DIGIT
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    error = next(e for e in response.json()["errors"] if e["field"] == "subject.personal_code")
    assert "check digit" in error["message"]


@pytest.mark.parametrize(
    ("code", "warned"),
    [
        (personal_code(3, "851314", "123"), True),  # month 13
        (personal_code(3, "850230", "123"), True),  # 30 February
        (personal_code(6, "991231", "123"), True),  # born 2099: in the future
        (personal_code(3, "850014", "123"), False),  # unknown month: legal
        (personal_code(9, "999999", "123"), False),  # 9...: no date rules
    ],
)
def test_implausible_birth_date_is_a_warning_not_an_error(
    world: World, code: str, warned: bool
) -> None:
    payload = release_case(world)
    payload["subject"]["personal_code"] = code
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert bool(warnings) is warned
    if warned:
        assert warnings[0]["field"] == "subject.personal_code"


def test_birth_date_instead_of_code(world: World) -> None:
    payload = release_case(world)
    payload["subject"]["personal_code"] = None
    payload["subject"]["birth_date"] = "1985-02-14"
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"institution_code": "999999999"}, "subject.institution_code"),
        ("municipality-as-institution", "subject.institution_code"),
    ],
)
def test_references_must_exist(world: World, change: Any, field: str) -> None:
    payload = release_case(world)
    if change == "municipality-as-institution":
        payload["subject"]["institution_code"] = world.orgs["municipality"].code
    else:
        payload["subject"].update(change)
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_unknown_participant(world: World) -> None:
    payload = release_case(world, participants=[world.orgs["municipality"].code, "999999998"])
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["participants.1"]


def test_body_size_limit(world: World) -> None:
    payload = release_case(world)
    payload["needs"] = [
        {"area": "housing", "description": "ž" * 3000}
    ] * 20  # > 64 KiB in the test settings
    response = world.client.post(
        "/v1/cases", json=payload, headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_malformed_json(world: World) -> None:
    response = world.client.post(
        "/v1/cases",
        content=b'{"kind": "conditional_release", ',
        headers={**world.institution.auth(Role.director), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_bad_if_match(world: World) -> None:
    staff = world.institution.auth(Role.director)
    case_id = world.client.post("/v1/cases", json=release_case(world), headers=staff).json()["id"]
    response = world.client.patch(
        f"/v1/cases/{case_id}", json={"people": []}, headers={**staff, "If-Match": "yesterday"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "If-Match"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"code": "12AB", "name": "X", "kind": "ngo", "address": "Vilnius", "email": "a@b.lt"},
            "code",
        ),
        (
            {
                "code": "123456789",
                "name": "X",
                "kind": "club",
                "address": "Vilnius",
                "email": "a@b.lt",
            },
            "kind",
        ),
        (
            {
                "code": "123456789",
                "name": "X",
                "kind": "ngo",
                "address": "Vilnius",
                "email": "nope",
            },
            "email",
        ),
        ({"code": "123456789", "name": "X", "kind": "ngo", "address": "Vilnius"}, "email"),
    ],
)
def test_organisation_validation(world: World, payload: dict[str, Any], field: str) -> None:
    admin = world.institution.auth(Role.admin)
    response = world.client.post("/v1/organisations", json=payload, headers=admin)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_duplicate_organisation_code(world: World) -> None:
    admin = world.institution.auth(Role.admin)
    payload = {
        "code": world.institution.code,
        "name": "Kopija",
        "kind": "ngo",
        "address": "Vilnius",
        "email": "a@b.lt",
    }
    response = world.client.post("/v1/organisations", json=payload, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "duplicate"
