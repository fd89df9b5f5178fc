"""TSA fallback and fail-closed behaviour: never a local clock time."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.config import SignatureFieldSpec, SignatureRequest, SigningConfig, TimestampAuthority
from signing.dev_responders import DevResponders
from signing.errors import TimestampUnavailable
from signing.service import SigningService
from signing.validation import DocumentValidation

ORGANISATION = "188000000"
DEAD_TSA_URLS = ("http://127.0.0.1:9/tsa", "http://127.0.0.1:9/second")
CERTOMANCER_TSA_POLICY = "1.3.6.1.4.1.4146.2.3"


def _request() -> SignatureRequest:
    return SignatureRequest(
        "parasas", "Pranešimo pasirašymas", new_field=SignatureFieldSpec("parasas")
    )


def test_no_tsa_answering_raises_and_signs_nothing(
    config_for: Callable[..., SigningConfig], pdfa_bytes: bytes, responders: DevResponders
) -> None:
    with SigningService(config_for(*DEAD_TSA_URLS)) as service:
        signer = service.signer_for(ORGANISATION, "rasa-kazlauskiene")
        result: bytes | None = None
        with pytest.raises(TimestampUnavailable) as failure:
            result = service.sign_pades(pdfa_bytes, signer, _request())
    assert result is None
    details = failure.value.details()
    assert details["code"] == "timestamp_unavailable"
    assert details["retryable"] is True
    assert [attempt["url"] for attempt in details["attempts"]] == list(DEAD_TSA_URLS)
    assert all(attempt["reason"] for attempt in details["attempts"])


def test_falls_back_to_the_second_tsa(
    config_for: Callable[..., SigningConfig],
    pdfa_bytes: bytes,
    responders: DevResponders,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    with SigningService(config_for(DEAD_TSA_URLS[0], responders.tsa_url)) as service:
        signer = service.signer_for(ORGANISATION, "rasa-kazlauskiene")
        signed = service.sign_pades(pdfa_bytes, signer, _request())
    report = validator(signed)
    assert report.reaches_lta
    assert report.signatures[0].signature_timestamp is not None
    assert len(PdfFileReader(BytesIO(signed)).embedded_timestamp_signatures) == 1


def test_requested_policy_is_enforced(
    config_for: Callable[..., SigningConfig],
    pdfa_bytes: bytes,
    responders: DevResponders,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    matching = TimestampAuthority(responders.tsa_url, policy_oid=CERTOMANCER_TSA_POLICY)
    with SigningService(config_for(matching)) as service:
        signer = service.signer_for(ORGANISATION, "jonas-petrauskas")
        assert validator(service.sign_pades(pdfa_bytes, signer, _request())).reaches_lta

    other_policy = TimestampAuthority(responders.tsa_url, policy_oid="1.2.3.4.5")
    with SigningService(config_for(other_policy)) as service:
        signer = service.signer_for(ORGANISATION, "jonas-petrauskas")
        with pytest.raises(TimestampUnavailable) as failure:
            service.sign_pades(pdfa_bytes, signer, _request())
    assert "policy" in failure.value.attempts[0].reason
