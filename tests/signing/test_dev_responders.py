"""The development TSA: certomancer's tokens, made from DER prepared once."""

from __future__ import annotations

import hashlib

import httpx
from asn1crypto import cms, tsp, x509
from certomancer.registry import ServiceLabel
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from signing.dev_pki import DevPki
from signing.dev_responders import DevResponders, DevTimeStamper


def _request(nonce: int | None = 424242) -> bytes:
    fields = {
        "version": 1,
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": hashlib.sha256(b"protokolas K").digest(),
        },
        "cert_req": True,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()


def _signed_data(response: tsp.TimeStampResp) -> cms.SignedData:
    signed_data: cms.SignedData = response["time_stamp_token"]["content"]
    return signed_data


def test_tokens_carry_what_certomancers_carry(dev_pki: DevPki) -> None:
    architecture = dev_pki.load_architecture()
    stock = architecture.service_registry.summon_timestamper(ServiceLabel("tsa"))
    for nonce in (424242, None):
        request = _request(nonce)
        ours = tsp.TimeStampResp.load(DevTimeStamper(architecture).response(request))
        theirs = stock.request_tsa_response(tsp.TimeStampReq.load(request))

        assert ours["status"].dump() == theirs["status"].dump()
        assert ours["status"]["status"].native == "granted"
        mine, stocks = _signed_data(ours), _signed_data(theirs)
        for name in ("version", "digest_algorithms", "certificates"):
            assert mine[name].dump() == stocks[name].dump(), name
        my_tst = mine["encap_content_info"]["content"].parsed.native
        stock_tst = stocks["encap_content_info"]["content"].parsed.native
        assert my_tst.pop("serial_number") != stock_tst.pop("serial_number")
        assert abs(my_tst.pop("gen_time") - stock_tst.pop("gen_time")).total_seconds() < 60
        assert my_tst == stock_tst
        assert my_tst["nonce"] == nonce
        my_signer, stock_signer = mine["signer_infos"][0], stocks["signer_infos"][0]
        for name in ("version", "sid", "digest_algorithm", "signature_algorithm"):
            assert my_signer[name].dump() == stock_signer[name].dump(), name
        assert [a["type"].native for a in my_signer["signed_attrs"]] == [
            a["type"].native for a in stock_signer["signed_attrs"]
        ]
        # DER: asn1crypto's own encoding of what it read is the same bytes
        assert tsp.TimeStampResp.load(ours.dump()).dump(force=True) == ours.dump()


def test_token_is_signed_by_the_tsa_over_its_content(dev_pki: DevPki) -> None:
    architecture = dev_pki.load_architecture()
    response = tsp.TimeStampResp.load(DevTimeStamper(architecture).response(_request()))
    signed_data = _signed_data(response)
    signer = signed_data["signer_infos"][0]
    tst_info = signed_data["encap_content_info"]["content"].contents
    attributes = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert attributes["message_digest"].native == hashlib.sha256(tst_info).digest()
    tsa_certificate: x509.Certificate = next(
        c.chosen
        for c in signed_data["certificates"]
        if c.chosen.serial_number == signer["sid"].chosen["serial_number"].native
    )
    assert "time_stamping" in tsa_certificate.extended_key_usage_value.native
    public_key = load_der_public_key(tsa_certificate.public_key.dump())
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(  # raises InvalidSignature if not
        signer["signature"].native,
        signer["signed_attrs"].untag().dump(),
        ec.ECDSA(hashes.SHA256()),
    )


def test_responders_answer_timestamp_requests_and_refuse_garbage(
    responders: DevResponders,
) -> None:
    answered = httpx.post(
        responders.tsa_url,
        content=_request(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert answered.status_code == 200
    assert answered.headers["Content-Type"] == "application/timestamp-reply"
    assert tsp.TimeStampResp.load(answered.content)["status"]["status"].native == "granted"

    refused = httpx.post(responders.tsa_url, content=b"not a request")
    assert refused.status_code == 400
