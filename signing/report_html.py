"""A human-readable verification report in Lithuanian: one self-contained, escaped HTML page.

Green (žalia) = TOTAL-PASSED, amber (geltona) = INDETERMINATE, red (raudona) = TOTAL-FAILED.
Every value from the document (names, /Reason, subjects) is HTML-escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from signing.verification import (
    Finding,
    Indication,
    SignatureReport,
    VerificationReport,
)

__all__ = ["VERDICT_TEXT", "validation_report_html"]

_ZONE = ZoneInfo("Europe/Vilnius")

VERDICT_TEXT = {
    Indication.TOTAL_PASSED: ("žalia", "#1b7f3b", "Parašas galioja"),
    Indication.INDETERMINATE: ("geltona", "#b7791f", "Nepavyko galutinai patikrinti parašo"),
    Indication.TOTAL_FAILED: ("raudona", "#b42318", "Parašas negalioja"),
}

_SUB_INDICATION_TEXT = {
    "HASH_FAILURE": "Pasirašyti duomenys pakeisti po pasirašymo",
    "SIG_CRYPTO_FAILURE": "Parašo kriptografinė patikra nepavyko",
    "SIG_CONSTRAINTS_FAILURE": "Dokumentas pakeistas po pasirašymo",
    "FORMAT_FAILURE": "Netinkamas parašo formatas",
    "REVOKED": "Sertifikatas atšauktas",
    "NO_CERTIFICATE_CHAIN_FOUND": "Sertifikatas neveda į patikimą šakninį sertifikatą",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "Nepavyko patikrinti sertifikato galiojimo",
    "TRY_LATER": "Nepavyko patikrinti sertifikato galiojimo (trūksta atšaukimo duomenų)",
    "NO_POE": "Nėra įrodymo, kad parašas egzistavo sertifikatui galiojant",
    "OUT_OF_BOUNDS_NO_POE": "Sertifikato galiojimas baigėsi, o laiko žyma neatnaujinta",
    "OUT_OF_BOUNDS_NOT_REVOKED": "Sertifikato galiojimas baigėsi",
    "REVOKED_NO_POE": "Sertifikatas atšauktas, nėra įrodymo, kad parašas sukurtas anksčiau",
    "EXPIRED": "Sertifikato galiojimas baigėsi",
    "SIGNED_DATA_NOT_FOUND": "Dokumente nėra parašo",
}

_FINDING_TEXT = {
    "illegal_modification": "Dokumentas pakeistas po pasirašymo",
    "digest_mismatch": "Pasirašyti duomenys pakeisti",
    "partial_coverage": "Parašas apima ne visą dokumento versiją",
    "modification_unknown": "Nepavyko įvertinti vėlesnių pakeitimų",
    "annotations_added": "Po pasirašymo pridėta pastabų",
    "no_signature": "Dokumente nėra parašo",
    "no_archive_timestamp": "Nėra archyvinės laiko žymos (B-LTA nepasiektas)",
    "superseded_timestamp": "Ankstesnę laiko žymą apsaugo vėlesnė",
    "trailing_data": "Po dokumento pabaigos yra nepasirašytų duomenų",
    "pdf_lt_version": "PDF versija ne 1.7 (PDF-LT-V1.0)",
    "pdf_lt_standard_version": "Nenurodyta PDF-LT-V1.0 atitiktis (LTUd:standardVersion)",
    "pdf_lt_embedded_files": "Įterpti failai (PDF-LT draudžia)",
    "pdf_lt_certification_signature": "Sertifikavimo (DocMDP) parašas (PDF-LT draudžia)",
    "pdf_lt_signature_entries": "Parašo žodyne trūksta /Reason, /Name arba /M",
    "pdfa_identification_missing": "Dokumentas neidentifikuojamas kaip PDF/A",
    "signature_unreadable": "Parašo nepavyko perskaityti",
    "timestamp_unreadable": "Laiko žymos nepavyko perskaityti",
}

_STYLE = """
body{font-family:"Noto Sans",Arial,sans-serif;margin:2em;color:#1a1a1a;max-width:60em}
.verdict{padding:1em 1.5em;border-radius:6px;color:#fff;font-size:1.3em;margin-bottom:1em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2;width:30%}
.badge{display:inline-block;padding:.1em .6em;border-radius:4px;color:#fff}
"""


def validation_report_html(report: VerificationReport) -> str:
    """The whole report as one HTML document (UTF-8 text, no external resources)."""
    colour_name, colour, verdict = VERDICT_TEXT[report.indication]
    reasons = verdict_reasons(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="lt"><head><meta charset="utf-8">',
        "<title>Elektroninio dokumento patikros ataskaita</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Elektroninio dokumento patikros ataskaita</h1>",
        f'<div class="verdict" data-verdict="{colour_name}" style="background:{colour}">'
        f"{escape(verdict)}</div>",
    ]
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>")
    parts.append("<table>")
    parts.append(
        _row(
            "Bendra išvada (ETSI EN 319 102-1)",
            indication_text(report.indication, report.sub_indication),
        )
    )
    parts.append(_row("Patikros laikas", _time(report.validation_time)))
    parts.append(_row("Patikros politika", report.policy))
    parts.append(_row("Dokumento SHA-256", report.document_sha256))
    if report.renewal_due is not None:
        due = _time(report.renewal_due)
        if report.renewal_needed:
            due += " — archyvinę laiko žymą reikia atnaujinti dabar"
        parts.append(_row("Archyvinę laiko žymą atnaujinti iki", due))
    document = report.document
    pdfa = (
        f"PDF/A-{document.pdfa_part}{(document.pdfa_conformance or '').lower()}"
        if document.pdfa_part
        else "neidentifikuotas"
    )
    parts.append(_row("PDF/A", pdfa))
    parts.append(_row("PDF-LT-V1.0", "atitinka" if document.pdf_lt_conformant else "neatitinka"))
    parts.append("</table>")
    for index, signature in enumerate(report.signatures, start=1):
        parts.append(f"<h2>Parašas {index}: {escape(signature.field_name)}</h2>")
        parts.append(_signature_table(signature))
    for index, timestamp in enumerate(report.document_timestamps, start=1):
        parts.append(f"<h2>Archyvinė laiko žyma {index}</h2>")
        parts.append(_signature_table(timestamp))
    parts.append("</body></html>")
    return "\n".join(parts)


def verdict_reasons(report: VerificationReport) -> list[str]:
    reasons: list[str] = []
    if report.indication is Indication.TOTAL_PASSED:
        reasons.append("Parašas galioja" if len(report.signatures) <= 1 else "Visi parašai galioja")
    elif report.sub_indication:
        reasons.append(_SUB_INDICATION_TEXT.get(report.sub_indication, report.sub_indication))
    findings: list[Finding] = [*report.findings]
    for signature in (*report.signatures, *report.document_timestamps):
        findings.extend(signature.findings)
    for finding in findings:
        text = _FINDING_TEXT.get(finding.code)
        if text is not None and text not in reasons and finding.severity != "info":
            reasons.append(text)
    return reasons


def _signature_table(signature: SignatureReport) -> str:
    _, colour, _ = VERDICT_TEXT[signature.indication]
    rows = [
        _row_html(
            "Išvada",
            f'<span class="badge" style="background:{colour}">'
            f"{escape(indication_text(signature.indication, signature.sub_indication))}"
            "</span>",
        ),
    ]
    if signature.signer is not None:
        who = signature.signer.common_name or signature.signer.subject
        if signature.signer.organisation:
            who += f", {signature.signer.organisation}"
        rows.append(
            _row("Pasirašė" if signature.kind == "signature" else "Laiko žymų tarnyba", who)
        )
    if signature.reason:
        rows.append(_row("Priežastis", signature.reason))
    if signature.claimed_signing_time is not None:
        rows.append(
            _row(
                "Pasirašymo laikas (nurodytas pasirašiusiojo)",
                _time(signature.claimed_signing_time),
            )
        )
    if signature.timestamp_time is not None:
        rows.append(_row("Laiko žyma", _time(signature.timestamp_time)))
    if signature.kind == "signature":
        rows.append(_row("Pasiektas lygis", signature.ltv_level.value))
    if signature.chain:
        chain = "<br>".join(
            escape(
                f"{c.common_name or c.subject} (nr. {c.serial_number}, galioja "
                f"{_date(c.not_before)}–{_date(c.not_after)})"
            )
            for c in signature.chain
        )
        rows.append(_row_html("Sertifikatų grandinė", chain))
    if signature.trust_anchor is not None:
        rows.append(
            _row(
                "Patikimas šakninis sertifikatas",
                signature.trust_anchor.common_name or signature.trust_anchor.subject,
            )
        )
    else:
        rows.append(_row("Patikimas šakninis sertifikatas", "nerastas"))
    if signature.revocation:
        revocation = "<br>".join(
            escape(
                f"{r.kind} ({_source(r.source)}): {r.certificate_subject} – "
                f"{_status(r.status)}, išduota {_time(r.produced_at) if r.produced_at else '?'}"
            )
            for r in signature.revocation
        )
        rows.append(_row_html("Atšaukimo duomenys", revocation))
    if signature.qualification is not None:
        rows.append(_row("Kvalifikuotas", "taip" if signature.qualification.qualified else "ne"))
    return "<table>" + "".join(rows) + "</table>"


def indication_text(indication: Indication, sub_indication: str | None) -> str:
    text = VERDICT_TEXT[indication][2]
    if indication is not Indication.TOTAL_PASSED and sub_indication:
        detail = _SUB_INDICATION_TEXT.get(sub_indication, sub_indication)
        return f"{text}: {detail} ({indication.value}/{sub_indication})"
    return f"{text} ({indication.value})"


def _source(source: str) -> str:
    return {"DSS": "iš dokumento", "CMS": "iš parašo", "fetched": "gauta tinklu"}.get(
        source, source
    )


def _status(status: str) -> str:
    return {"good": "galioja", "revoked": "atšauktas", "unknown": "nežinoma"}.get(status, status)


def _row(label: str, value: str) -> str:
    return _row_html(label, escape(value))


def _row_html(label: str, value_html: str) -> str:
    return f"<tr><th>{escape(label)}</th><td>{value_html}</td></tr>"


def _time(moment: datetime) -> str:
    return moment.astimezone(_ZONE).strftime("%Y-%m-%d %H:%M:%S %Z")


def _date(moment: datetime) -> str:
    return moment.astimezone(_ZONE).strftime("%Y-%m-%d")
