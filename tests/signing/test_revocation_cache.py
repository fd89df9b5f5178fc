"""Revocation data is fetched once, reused while fresh and refreshed at half its validity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from signing.config import SignatureFieldSpec, SignatureRequest, SigningConfig
from signing.dev_responders import DevResponders
from signing.revocation import CONTEXT_LIFETIME
from signing.service import SigningService
from signing.validation import DocumentValidation

ORGANISATION = "188000000"


def _request(name: str) -> SignatureRequest:
    return SignatureRequest(name, "Pasirašymas", new_field=SignatureFieldSpec(name))


def test_fetched_once_then_refreshed_after_half_validity(
    config_for: Callable[..., SigningConfig],
    pdfa_bytes: bytes,
    responders: DevResponders,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    now = [datetime.now(UTC)]
    with SigningService(config_for(responders.tsa_url)) as service:
        service.revocation._clock = lambda: now[0]
        signer = service.signer_for(ORGANISATION, "egle-vaitkiene")

        first = service.sign_pades(pdfa_bytes, signer, _request("a"))
        second = service.sign_pades(pdfa_bytes, signer, _request("b"))
        assert service.revocation.fetch_count == 1

        snapshot = service.run(service.revocation.snapshot_for(signer, service.timestampers[0]))
        # dev OCSP responses live one hour: refresh after about half of it
        assert timedelta(minutes=25) <= snapshot.refresh_at - snapshot.fetched_at
        assert snapshot.refresh_at - snapshot.fetched_at <= timedelta(minutes=31)

        now[0] = snapshot.refresh_at + timedelta(seconds=1)
        third = service.sign_pades(pdfa_bytes, signer, _request("c"))
        assert service.revocation.fetch_count == 2

    for signed in (first, second, third):
        assert validator(signed).reaches_lta


def test_offline_context_is_shared_for_a_minute_then_made_anew(
    config_for: Callable[..., SigningConfig], responders: DevResponders
) -> None:
    now = [datetime.now(UTC)]
    with SigningService(config_for(responders.tsa_url)) as service:
        service.revocation._clock = lambda: now[0]
        signer = service.signer_for(ORGANISATION, "egle-vaitkiene")
        snapshot = service.run(service.revocation.snapshot_for(signer, service.timestampers[0]))
        first = service.revocation.validation_context(snapshot)
        now[0] += CONTEXT_LIFETIME - timedelta(seconds=1)
        again = service.revocation.validation_context(snapshot)
        now[0] += timedelta(seconds=1)
        later = service.revocation.validation_context(snapshot)
    assert first is again and later is not first
    assert later.moment == now[0], "a context validates as of when it was made"
    assert not first.fetching_allowed
    assert len(first.ocsps) >= 2  # signer and TSA (and intermediates) from the cache
