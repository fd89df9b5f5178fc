"""``tiltas verify FILE...``: verify signed PDFs as the archivist's API does, from a shell.

One line per verified file on stdout, the verdict first and the file name last, separated by
a tab (``TOTAL-PASSED``, or ``INDETERMINATE/<sub-indication>`` / ``TOTAL-FAILED/<sub-indication>``).
The JSON report is written beside each file as ``<file>.verification.json`` (and with
``--xml`` the ETSI TS 119 102-2 report as ``<file>.verification.xml``). A file that cannot be
read or is not a verifiable PDF gets one line on stderr and counts as not passed.

Exit status: 0 when every file is TOTAL-PASSED, 1 otherwise, 2 on usage or configuration errors
(a configured trusted list that is refused — unsigned, changed, signed by another key — too).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    # Imported where used: pyHanko takes most of a second to load, `tiltas --help` should not.
    from signing.verification import VerificationPolicy, VerificationReport, Verifier

JSON_REPORT_SUFFIX = ".verification.json"
XML_REPORT_SUFFIX = ".verification.xml"


def verdict_of(report: VerificationReport) -> str:
    """``TOTAL-PASSED``, or the indication and its sub-indication: ``TOTAL-FAILED/HASH_FAILURE``."""
    if report.sub_indication is None:
        return report.indication.value
    return f"{report.indication.value}/{report.sub_indication}"


def _fail(message: str) -> NoReturn:
    click.echo(f"tiltas verify: {message}", err=True)
    sys.exit(2)


def _policy(extra_trust_roots: Sequence[Path]) -> VerificationPolicy:
    from api.routes.verification import (
        VERIFICATION_MAX_BYTES,
        trust_root_paths,
        trusted_list_for,
    )
    from cli.main import _settings
    from signing.errors import SigningError, TrustedListError
    from signing.verification import VerificationPolicy

    settings = _settings()
    try:
        trusted_list = trusted_list_for(settings)
    except TrustedListError as refused:
        _fail(f"trusted list {refused.source} refused ({refused.reason}): {refused.message}")
    try:
        roots = (*trust_root_paths(settings), *extra_trust_roots)
        return VerificationPolicy.from_files(
            roots, max_input_bytes=VERIFICATION_MAX_BYTES, trusted_list=trusted_list
        )
    except (SigningError, OSError, ValueError) as error:
        message = error.message if isinstance(error, SigningError) else type(error).__name__
        _fail(f"trust roots cannot be loaded: {message}")


def _write_beside(path: Path, suffix: str, content: bytes) -> Path:
    """Write ``<path><suffix>`` atomically (a reader never sees half a report)."""
    target = path.with_name(path.name + suffix)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _complain(path: Path, message: str) -> None:
    click.echo(f"tiltas verify: {path}: {message}", err=True)


def _verify_file(
    verifier: Verifier, policy: VerificationPolicy, path: Path, *, write_xml: bool
) -> bool:
    """Verify one file, print its line and write its reports; True when it passed."""
    from signing.errors import VerificationRefused
    from signing.verification import Indication

    try:
        pdf = path.read_bytes()
    except OSError as error:
        _complain(path, f"cannot be read ({error.strerror or type(error).__name__})")
        return False
    try:
        report = verifier.verify(pdf, policy)
    except VerificationRefused as refused:
        _complain(path, f"not verified: {refused.message} ({refused.reason})")
        return False
    click.echo(f"{verdict_of(report)}\t{path}")
    try:
        report_json = json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
        _write_beside(path, JSON_REPORT_SUFFIX, report_json.encode("utf-8"))
        if write_xml:
            from signing.report_xml import validation_report_xml

            _write_beside(path, XML_REPORT_SUFFIX, validation_report_xml(report))
    except OSError as error:
        _complain(path, f"the report cannot be written ({error.strerror or type(error).__name__})")
        return False
    return report.indication is Indication.TOTAL_PASSED


@click.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another trust anchor (PEM or DER certificate), besides the configured ones. Repeatable.",
)
@click.option(
    "--xml",
    "write_xml",
    is_flag=True,
    help="Also write the ETSI TS 119 102-2 XML report beside each file (<file>.verification.xml).",
)
def verify(files: tuple[Path, ...], trust_roots: tuple[Path, ...], write_xml: bool) -> None:
    """Verify signed PDFs: print the verdict per file and write <file>.verification.json.

    Trust anchors: the development PKI's root in development, the key file's trust roots in
    production, and every --trust-root. Exits 0 only when every file is TOTAL-PASSED.
    """
    from signing.verification import Verifier

    policy = _policy(trust_roots)
    passed = 0
    with Verifier(workers=1) as verifier:
        for path in files:
            passed += _verify_file(verifier, policy, path, write_xml=write_xml)
    sys.exit(0 if passed == len(files) else 1)


if __name__ == "__main__":
    verify()
