"""Server time of the web pages with many cases in PostgreSQL, against the API's case list.

Starts a PostgreSQL in a temporary folder, opens ``--cases`` cases (default 10,000) for one
institution with the domain's ``create_case`` (so stored deadlines and audit entries are real),
a quarter of them due soon, then times each page in this process (the app's own time, no
network) and the API's ``GET /v1/cases?limit=50`` as the baseline measured in the same run.

    .venv/bin/python bench/bench_web.py [--cases 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.app import create_app
from tests.support.factories import personal_code
from tests.support.servers import start_postgres
from tiltas import cases
from tiltas.access import OrganisationKind, Role
from tiltas.apikeys import create_api_key
from tiltas.db import transaction
from tiltas.migrate import upgrade
from tiltas.organisations import OrganisationCreate, create_organisation
from tiltas.settings import Settings
from tiltas.users import create_user, principal_of

FIRST = ["Jonas", "Petras", "Ąžuolas", "Rūta", "Darius", "Eglė", "Tomas", "Žydrė"]
LAST = ["Žemaitis", "Kazlauskas", "Šimkus", "Petraitis", "Jankauskas", "Čiurlys", "Vaitkus"]


def _fill(client: TestClient, count: int) -> tuple[str, str]:
    database = client.app.state.database  # type: ignore[attr-defined]
    today = dt.date.today()
    with transaction(database.sessions) as session:
        for code, kind in (
            ("188000011", OrganisationKind.correctional_institution),
            ("188000012", OrganisationKind.municipality),
        ):
            create_organisation(
                session,
                OrganisationCreate(
                    code=code, name=f"Org {code}", kind=kind, address="Vilnius", email="a@b.lt"
                ),
            )
        key = create_api_key(session, "188000011", Role.director).secret_key
        user = create_user(session, "188000011", Role.director, "d@ex.lt", "Slaptazodis-123")
        principal = principal_of(user)
    done = 0
    while done < count:
        with transaction(database.sessions) as session:
            for index in range(done, min(done + 500, count)):
                # A quarter due within ~7 months (notice A late or at risk), the rest later.
                days = 100 + (index % 120) if index % 4 == 0 else 400 + index % 900
                data = cases.CaseCreate.model_validate(
                    {
                        "kind": "conditional_release",
                        "subject": {
                            "first_name": FIRST[index % len(FIRST)],
                            "last_name": f"{LAST[index % len(LAST)]}{index}",
                            "personal_code": personal_code(3, "850214", f"{index % 1000:03d}"),
                            "institution_code": "188000011",
                            "possible_release_date": (today + dt.timedelta(days=days)).isoformat(),
                            "intended_residence": {
                                "address": "Gatvė 1",
                                "municipality": "vilniaus-m",
                            },
                        },
                        "participants": ["188000012"],
                        "needs": [{"area": "housing", "description": "Būstas"}],
                    }
                )
                cases.create_case(session, principal, data)
        done = min(done + 500, count)
        print(f"  {done} cases", end="\r", flush=True)
    print()
    return key, "Slaptazodis-123"


def _time(call: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, max(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    server = start_postgres()
    try:
        with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        url = server.url("bench")
        upgrade(url)
        with TemporaryDirectory() as data_dir:
            app = create_app(Settings(database_url=url, data_dir=Path(data_dir)))
            with TestClient(app) as client:
                print(f"opening {args.cases} cases …")
                key, password = _fill(client, args.cases)
                with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute("ANALYZE")
                form = client.get("/web/prisijungti").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token
                client.post(
                    "/web/prisijungti",
                    data={"email": "d@ex.lt", "password": password, "csrf_token": token.group(1)},
                )
                first = client.get("/web/bylos").text
                case_id = re.search(r'href="/web/bylos/([0-9a-f-]{36})"', first)
                assert case_id
                pages = {
                    "API GET /v1/cases?limit=50 (baseline)": "/v1/cases?limit=50",
                    "cases list": "/web/bylos",
                    "cases list, deadlines need attention": "/web/bylos?terminai=any",
                    "cases list, search 'šimkus'": "/web/bylos?q=%C5%A1imkus",
                    "cases list, overdue + release range": (
                        f"/web/bylos?terminai=overdue&nuo={dt.date.today()}"
                    ),
                    "case page": f"/web/bylos/{case_id.group(1)}",
                    "new case form": "/web/bylos/nauja",
                    "new document form (A)": (
                        f"/web/dokumentai/naujas?tipas=A&byla={case_id.group(1)}"
                    ),
                }
                headers = {"Authorization": f"Bearer {key}"}
                baseline = None
                print(f"{'page':45} {'median ms':>10} {'max ms':>8} {'× API':>7}")
                for name, path in pages.items():
                    is_api = path.startswith("/v1/")

                    def call(path: str = path, is_api: bool = is_api) -> object:
                        response = client.get(path, headers=headers if is_api else None)
                        assert response.status_code == 200, (path, response.status_code)
                        return response

                    call()
                    median, worst = _time(call, args.runs)
                    baseline = baseline or median
                    print(f"{name:45} {median:10.1f} {worst:8.1f} {median / baseline:7.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
