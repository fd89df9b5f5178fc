"""The ``tiltas`` command. This is the composition root: it may use every package."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NoReturn

import click
from pydantic import ValidationError

from tiltas.access import OrganisationKind, Role
from tiltas.errors import InvalidInput, TiltasError
from tiltas.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _fail(message: str) -> NoReturn:
    click.echo(f"tiltas: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        _fail(f"configuration: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")


def _describe(error: TiltasError) -> str:
    if isinstance(error, InvalidInput):
        return "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    return error.message


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Tiltas: documents, e-signatures and deadlines for conditional release and social care."""


@main.command()
def serve() -> None:
    """Run the service: migrate the database, start the broker (embedded default), the
    workers and the API, and keep them running. Stops on Ctrl-C / SIGTERM."""
    from cli.supervisor import serve as run_supervised

    sys.exit(run_supervised(_settings()))


@main.command()
def migrate() -> None:
    """Apply database migrations and exit."""
    from tiltas.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    click.echo("database is up to date")


@main.group()
def org() -> None:
    """Organisations."""


@org.command("create")
@click.option("--code", required=True, help="Legal-entity code (9 digits).")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice([k.value for k in OrganisationKind]))
@click.option("--address", required=True)
@click.option("--email", required=True)
def org_create(code: str, name: str, kind: str, address: str, email: str) -> None:
    """Register an organisation."""
    from tiltas.organisations import OrganisationCreate, create_organisation

    try:
        data = OrganisationCreate(
            code=code, name=name, kind=OrganisationKind(kind), address=address, email=email
        )
    except ValidationError as error:
        _fail(
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        )
    with _transaction() as session:
        try:
            create_organisation(session, data)
        except TiltasError as error:
            _fail(_describe(error))
    click.echo(f"organisation {code} created")


@main.group()
def apikey() -> None:
    """API keys."""


@apikey.command("create")
@click.option("--org", "org_code", required=True, help="Organisation code the key belongs to.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--label", default="", help="What the key is for (e.g. the DMS's name).")
def apikey_create(org_code: str, role: str, label: str) -> None:
    """Issue an API key; the key is the last line of the output (shown once)."""
    from tiltas import audit
    from tiltas.apikeys import create_api_key

    with _transaction() as session:
        try:
            issued = create_api_key(session, org_code, Role(role), label)
        except TiltasError as error:
            _fail(_describe(error))
        audit.record(
            session,
            audit.Actor("cli", org_code, "operator"),
            audit.AuditAction.create,
            "api_key",
            issued.key_id,
        )
    click.echo(f"API key {issued.key_id} for {org_code} as {role} (shown once):")
    click.echo(issued.secret_key)


@main.group()
def user() -> None:
    """People who sign in to the web pages."""


def _read_password() -> str:
    # A terminal is asked twice without echo; a pipe gives the first line of standard input.
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@user.command("create")
@click.option("--organisation", "org_code", required=True, help="Code of the user's organisation.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--email", required=True, help="The sign-in name.")
@click.option("--name", "full_name", default="", help="The person's full name, shown on pages.")
def user_create(org_code: str, role: str, email: str, full_name: str) -> None:
    """Create a user of the web pages; the password is read from the terminal (asked twice)
    or from the first line of standard input."""
    from tiltas import audit
    from tiltas.users import create_user

    password = _read_password()
    with _transaction() as session:
        try:
            created = create_user(session, org_code, Role(role), email, password, full_name)
        except TiltasError as error:
            _fail(_describe(error))
        audit.record(
            session,
            audit.Actor("cli", org_code, "operator"),
            audit.AuditAction.create,
            "user",
            created.public_id,
        )
    click.echo(f"user {created.email} of {org_code} as {role} created")


@user.command("password")
@click.option("--email", required=True)
def user_password(email: str) -> None:
    """Set a user's password (read like ``user create``'s); it ends the user's sessions."""
    from tiltas.users import set_password

    password = _read_password()
    with _transaction() as session:
        try:
            set_password(session, email, password)
        except TiltasError as error:
            _fail(_describe(error))
    click.echo(f"password of {email} changed")


@user.command("disable")
@click.option("--email", required=True)
def user_disable(email: str) -> None:
    """Stop a user from signing in and end the user's sessions."""
    from tiltas.users import disable_user

    with _transaction() as session:
        try:
            disable_user(session, email)
        except TiltasError as error:
            _fail(_describe(error))
    click.echo(f"user {email} disabled")


@main.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if it was tampered with."""
    from tiltas.audit import verify_chain

    with _transaction() as session:
        report = verify_chain(session)
    if report.ok:
        click.echo(f"audit log intact: {report.entries} entries")
        return
    click.echo(
        f"audit log BROKEN at entry {report.first_bad_seq}: {report.reason} "
        f"({report.entries} entries verified before it)",
        err=True,
    )
    sys.exit(1)


@main.group("archive")
def archive_group() -> None:
    """The archive of signed documents."""


@archive_group.command("renew")
@click.option("--dry-run", is_flag=True, help="Verify what is due; change nothing.")
def archive_renew(dry_run: bool) -> None:
    """Renew the archive timestamps that are due, once (what the daily job does), and print a
    one-line summary. Exit 1 if a document was refused, unreadable or no TSA answered."""
    from tiltas.db import make_engine, make_sessionmaker
    from tiltas.migrate import upgrade
    from workers.archive_renewal import archive_renewal_for

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    sessions = make_sessionmaker(make_engine(settings.resolved_database_url))
    run = archive_renewal_for(settings, sessions).run(dry_run=dry_run)
    click.echo(run.summary())
    if run.refused or run.unreadable or run.unavailable:
        sys.exit(1)


from cli.batch import batch_group  # noqa: E402
from cli.verify import verify  # noqa: E402  (it uses _settings above)

main.add_command(verify)
main.add_command(batch_group)


def _transaction() -> AbstractContextManager[Session]:
    from tiltas.db import make_engine, make_sessionmaker, transaction
    from tiltas.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    return transaction(make_sessionmaker(make_engine(settings.resolved_database_url)))
