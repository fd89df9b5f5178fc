"""The web pages without a browser: sessions, form tokens, and the API's rules (organisation
scoping, role sections, the audit log) holding for people who sign in."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from templates.questionnaire import ITEMS
from tests.support.factories import World, care_case, release_case
from tests.web.conftest import PASSWORD, Person, csrf_of, sign_in
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import AuditEntry, User, WebSession
from tiltas.users import MAX_FAILED_SIGN_INS


def _case(world: World, **overrides: object) -> str:
    response = world.client.post(
        "/v1/cases",
        json=release_case(world, **overrides),
        headers=world.institution.auth(Role.director),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _post_sign_in(client: TestClient, email: str, password: str) -> object:
    form = client.get("/web/prisijungti")
    return client.post(
        "/web/prisijungti",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


def test_pages_send_strangers_to_sign_in_and_back(world: World, people: dict[str, Person]) -> None:
    client = world.client
    response = client.get("/web/bylos?q=Jonas", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/prisijungti?next=%2Fweb%2Fbylos%3Fq%3DJonas"

    form = client.get(response.headers["location"])
    assert 'name="next" value="/web/bylos?q=Jonas"' in form.text
    signed_in = client.post(
        "/web/prisijungti",
        data={
            "email": "DIR@ex.lt ",
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/web/bylos?q=Jonas",
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/web/bylos?q=Jonas"
    cookie = signed_in.headers["set-cookie"]
    assert "tiltas_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # Plain HTTP in development: a Secure cookie would never come back.
    assert "Secure" not in cookie
    page = client.get("/web/bylos")
    assert page.status_code == 200
    assert "Vardenis director" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_session_cookie_is_secure_over_https(world: World, people: dict[str, Person]) -> None:
    client = TestClient(world.client.app, base_url="https://tiltas.example.lt")
    form = client.get("/web/prisijungti")
    assert "Secure" in form.headers["set-cookie"]
    response = client.post(
        "/web/prisijungti",
        data={"email": "dir@ex.lt", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_a_next_address_never_leaves_the_site(world: World, people: dict[str, Person]) -> None:
    client = world.client
    for hostile in ("https://evil.example/", "//evil.example/web/", "/v1/cases"):
        form = client.get("/web/prisijungti")
        response = client.post(
            "/web/prisijungti",
            data={
                "email": "dir@ex.lt",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": hostile,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/web/", hostile


def test_wrong_passwords_are_refused_alike_and_lock_the_account(
    world: World, people: dict[str, Person]
) -> None:
    client = world.client
    unknown = _post_sign_in(client, "nobody@ex.lt", PASSWORD)
    wrong = _post_sign_in(client, "dir@ex.lt", "neteisingas-slaptazodis")
    for response in (unknown, wrong):
        assert response.status_code == 401  # type: ignore[attr-defined]
        assert "Neteisingas el. paštas arba slaptažodis." in response.text  # type: ignore[attr-defined]
        assert "tiltas_session" not in response.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        _post_sign_in(client, "dir@ex.lt", "neteisingas-slaptazodis")
    locked = _post_sign_in(client, "dir@ex.lt", PASSWORD)
    assert locked.status_code == 401  # type: ignore[attr-defined]
    assert "Per daug nesėkmingų bandymų" in locked.text  # type: ignore[attr-defined]
    # Another person's account is not affected.
    assert _post_sign_in(client, "staff@ex.lt", PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_the_password_is_stored_only_as_an_argon2id_hash(
    world: World, people: dict[str, Person]
) -> None:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        user = session.scalar(select(User).where(User.email == "dir@ex.lt"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_sign_in_needs_the_form_token_and_this_site(
    world: World, people: dict[str, Person]
) -> None:
    client = world.client
    form = client.get("/web/prisijungti")
    token = csrf_of(form.text)
    data = {"email": "dir@ex.lt", "password": PASSWORD}
    assert client.post("/web/prisijungti", data=data).status_code == 403
    forged = client.post("/web/prisijungti", data={**data, "csrf_token": "x" * 32})
    assert forged.status_code == 403
    other_site = client.post(
        "/web/prisijungti",
        data={**data, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert "Forma nebegalioja" in other_site.text


def test_every_form_needs_the_session_token(world: World, people: dict[str, Person]) -> None:
    client = world.client
    sign_in(client, people["director"])
    page = client.get("/web/bylos/nauja")
    token = csrf_of(page.text)
    form = {"kind": "conditional_release", "subject.first_name": "Jonas"}
    for headers, data in (
        ({}, form),
        ({}, {**form, "csrf_token": "0" * 64}),
        ({"Origin": "https://evil.example"}, {**form, "csrf_token": token}),
    ):
        response = client.post("/web/bylos/nauja", data=data, headers=headers)
        assert response.status_code == 403, (headers, data)
    case_id = _case(world)
    for path in (
        "/web/atsijungti",
        f"/web/dokumentai/{case_id}/pasirasyti",
        f"/web/dokumentai/{case_id}/pristatymas",
        "/web/tikrinti",
    ):
        assert client.post(path, data={}).status_code == 403, path
    # A token of another session does not do either.
    other = TestClient(client.app)
    sign_in(other, people["staff"])
    assert other.post("/web/bylos/nauja", data={**form, "csrf_token": token}).status_code == 403


def test_signing_out_ends_the_session(world: World, people: dict[str, Person]) -> None:
    client = world.client
    sign_in(client, people["director"])
    cookie = client.cookies.get("tiltas_session")
    page = client.get("/web/bylos")
    response = client.post(
        "/web/atsijungti", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    stale = TestClient(client.app, cookies={"tiltas_session": cookie or ""})
    assert stale.get("/web/bylos", follow_redirects=False).status_code == 303
    database = client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        assert session.scalars(select(WebSession)).all() == []


def test_a_person_sees_only_the_cases_of_their_organisation(
    world: World, people: dict[str, Person]
) -> None:
    case_id = _case(world)
    client = world.client
    sign_in(client, people["other_institution"])
    listing = client.get("/web/bylos")
    assert "Žemaitis" not in listing.text
    assert client.get(f"/web/bylos/{case_id}").status_code == 404

    social = TestClient(client.app)
    sign_in(social, people["social"])
    assert "Žemaitis" in social.get("/web/bylos").text
    assert social.get(f"/web/bylos/{case_id}").status_code == 200


def test_a_role_sees_only_its_sections(world: World, people: dict[str, Person]) -> None:
    case_id = _case(world)
    director = world.client
    sign_in(director, people["director"])
    page = director.get(f"/web/bylos/{case_id}").text
    assert "Neturi gyvenamosios vietos" in page and "priklausomybė nuo alkoholio" in page

    social = TestClient(director.app)
    sign_in(social, people["social"])
    page = social.get(f"/web/bylos/{case_id}").text
    assert "Neturi gyvenamosios vietos" in page  # needs: yes
    assert "priklausomybė nuo alkoholio" not in page and "Rizikos" not in page  # risk: no
    # A social worker authors neither notice A nor plan D.
    assert 'value="A"' not in page and 'value="D"' not in page
    assert social.get(f"/web/dokumentai/naujas?tipas=A&byla={case_id}").status_code == 403
    # Nor opens cases: the form says so, and its fields are not offered.
    assert social.get("/web/bylos/nauja").status_code == 403


def test_health_data_shows_for_the_director_only_on_the_form_and_the_page(
    world: World, people: dict[str, Person]
) -> None:
    response = world.client.post(
        "/v1/cases", json=care_case(world), headers=world.institution.auth(Role.director)
    )
    case_id = response.json()["id"]
    director = world.client
    sign_in(director, people["director"])
    assert "Darbingumo lygis" in director.get(f"/web/bylos/{case_id}").text
    assert 'name="health.notes"' in director.get("/web/bylos/nauja").text
    staff = TestClient(director.app)
    sign_in(staff, people["staff"])
    form = staff.get("/web/bylos/nauja").text
    assert 'name="health.notes"' not in form and 'name="risk.level"' in form


def test_pages_are_audited_as_the_person(world: World, people: dict[str, Person]) -> None:
    case_id = _case(world)
    client = world.client
    sign_in(client, people["director"])
    client.get("/web/bylos")
    client.get(f"/web/bylos/{case_id}")
    database = client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        user = session.scalar(select(User).where(User.email == "dir@ex.lt"))
        assert user is not None
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.actor_key_id == f"user:{user.public_id}")
        ).all()
    reads = [(e.entity_type, e.action, e.detail.get("via")) for e in entries if e.case_id]
    assert ("case", "read", "list") in reads
    assert ("case", "read", None) in reads


def test_a_new_case_from_the_form_with_errors_next_to_fields(
    world: World, people: dict[str, Person]
) -> None:
    client = world.client
    sign_in(client, people["director"])
    token = csrf_of(client.get("/web/bylos/nauja").text)
    base = {
        "csrf_token": token,
        "idempotency_key": "5b0f4d1e-0000-4000-8000-000000000001",
        "kind": "conditional_release",
        "subject.first_name": "Jonas",
        "subject.personal_code": "38502141230",
        "subject.institution_code": world.institution.code,
    }
    response = client.post("/web/bylos/nauja", data=base)
    assert response.status_code == 422
    html = response.text
    # Each problem at its field, in Lithuanian, and listed on top with a link to it.
    assert re.search(
        r'id="f-subject-last_name-error1"><span class="visually-hidden">Klaida: </span>'
        r"Privalomas laukas\.",
        html,
    )
    assert 'id="f-subject-personal_code-error1"' in html and "Neteisingas asmens kodas" in html
    assert 'aria-invalid="true"' in html
    assert 'value="Jonas"' in html  # what was typed stays

    fixed = {
        **base,
        "subject.last_name": "Žemaitis",
        "subject.personal_code": "38502141238",
        "subject.possible_release_date": "2027-03-15",
        "participants": world.orgs["municipality"].code,
        "needs.0.area": "housing",
        "needs.0.description": "Neturi būsto",
    }
    created = client.post("/web/bylos/nauja", data=fixed, follow_redirects=False)
    assert created.status_code == 303
    case_page = client.get(created.headers["location"])
    assert "Jonas Žemaitis" in case_page.text and "Neturi būsto" in case_page.text
    # The same form sent twice (a double click) makes one case.
    again = client.post("/web/bylos/nauja", data=fixed, follow_redirects=False)
    assert again.headers["location"] == created.headers["location"]


def test_list_rows_add_and_remove_without_script(world: World, people: dict[str, Person]) -> None:
    client = world.client
    sign_in(client, people["director"])
    token = csrf_of(client.get("/web/bylos/nauja").text)
    form = {"csrf_token": token, "needs.0.area": "housing", "needs.0.description": "Būstas"}
    added = client.post("/web/bylos/nauja", data={**form, "_action": "add:needs"})
    assert added.status_code == 200
    assert 'name="needs.1.area"' in added.text and 'value="Būstas"' not in added.text
    assert ">Būstas</textarea>" in added.text
    removed = client.post(
        "/web/bylos/nauja",
        data={**form, "needs.1.area": "debts", "_action": "remove:needs.0"},
    )
    assert 'name="needs.1.area"' not in removed.text
    assert re.search(r'<option value="debts" selected>', removed.text)


def test_search_and_filters_find_the_right_cases(world: World, people: dict[str, Person]) -> None:
    soon = (dt.date.today() + dt.timedelta(days=100)).isoformat()
    calm = release_case(world)
    far = (dt.date.today() + dt.timedelta(days=800)).isoformat()
    calm["subject"] = {**calm["subject"], "possible_release_date": far}
    late_id = world.client.post(
        "/v1/cases", json=calm, headers=world.institution.auth(Role.director)
    ).json()["id"]
    urgent = release_case(world)
    urgent["subject"] = {
        **urgent["subject"],
        "first_name": "Ąžuolas",
        "last_name": "Šimkus",
        "possible_release_date": soon,
    }
    urgent_id = world.client.post(
        "/v1/cases", json=urgent, headers=world.institution.auth(Role.director)
    ).json()["id"]
    client = world.client
    sign_in(client, people["director"])

    def found(query: str) -> set[str]:
        html = client.get(f"/web/bylos?{query}").text
        return set(re.findall(r'href="/web/bylos/([0-9a-f-]{36})"', html))

    assert found("") == {late_id, urgent_id}
    assert found("q=šimkus") == {urgent_id}
    assert found("q=ĄŽUOLAS") == {urgent_id}
    assert found("q=Jonas+Žemaitis") == {late_id}
    assert found("q=38502") == {late_id, urgent_id}
    assert found("q=Nėra") == set()
    # Notice A of a release in 100 days was due a couple of months ago.
    assert found("terminai=overdue") == {urgent_id}
    assert found("terminai=any") == {urgent_id}
    assert found(f"nuo={soon}&iki={soon}") == {urgent_id}
    assert found("procesas=social_care") == set()
    listing = client.get("/web/bylos?terminai=overdue").text
    assert "attention-overdue" in listing and "Praleistas terminas" in listing


def test_the_list_pages_through_many_cases(world: World, people: dict[str, Person]) -> None:
    from api.web import case_pages

    ids = {_case(world) for _ in range(case_pages.PAGE_SIZE + 3)}
    client = world.client
    sign_in(client, people["director"])
    first = client.get("/web/bylos").text
    shown = set(re.findall(r'href="/web/bylos/([0-9a-f-]{36})"', first))
    assert len(shown) == case_pages.PAGE_SIZE
    next_link = re.search(r'href="(/web/bylos\?pries=[0-9]+)" rel="next"', first)
    assert next_link
    second = client.get(next_link.group(1).replace("&amp;", "&")).text
    rest = set(re.findall(r'href="/web/bylos/([0-9a-f-]{36})"', second))
    assert shown | rest == ids and not shown & rest


def test_document_forms_come_from_the_type_schemas(world: World, people: dict[str, Person]) -> None:
    case_id = _case(world)
    client = world.client
    sign_in(client, people["director"])
    notice = client.get(f"/web/dokumentai/naujas?tipas=A&byla={case_id}").text
    for name in (
        "data.needs.0.area",
        "data.institution_social_worker.full_name",
        "data.institution_social_worker.email",
        "envelope.signers.0.full_name",
        "envelope.registration.number",
    ):
        assert f'name="{name}"' in notice, name
    assert "Jonas Žemaitis" in notice  # the subject comes from the case
    # Signers may only have the roles that sign this type.
    roles = re.findall(
        r'<option value="([a-z_]+)"[^>]*>', notice.split("envelope.signers.0.role")[1]
    )
    assert set(roles[:2]) == {"director", "authorised_official"}

    questionnaire = client.get(f"/web/dokumentai/naujas?tipas=H&byla={case_id}").text
    # One radio button per option of Annex 2, every one of them.
    assert questionnaire.count('type="radio"') == sum(len(item.options) for item in ITEMS) == 37
    assert "Aktyviai leidžia laisvalaikį" in questionnaire

    token = csrf_of(notice)
    refused = client.post(
        f"/web/dokumentai/naujas?tipas=H&byla={case_id}",
        data={"csrf_token": token, "data.marked.leisure": "leisure.1"},
    )
    assert refused.status_code == 422
    assert 'id="f-data-marked-self_care"' in refused.text
    assert "pažymėkite vieną atsakymą" in refused.text
    assert re.search(r'value="leisure\.1" checked', refused.text)


def test_an_archivist_verifies_but_sees_no_cases(world: World, people: dict[str, Person]) -> None:
    client = world.client
    sign_in(client, people["archivist"])
    assert client.get("/web/", follow_redirects=False).headers["location"] == "/web/tikrinti"
    assert client.get("/web/bylos").status_code == 403
    page = client.get("/web/tikrinti")
    response = client.post(
        "/web/tikrinti",
        data={"csrf_token": csrf_of(page.text)},
        files={"pdf": ("ne-pdf.pdf", b"tai ne PDF", "application/pdf")},
    )
    assert response.status_code == 422
    assert "Tai ne PDF failas." in response.text
