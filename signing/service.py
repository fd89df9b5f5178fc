"""PAdES baseline B-LTA signing: the ``SigningService`` and signature-field preparation.

Profile of every signature (PDF-LT-V1.0 Level A, see DOMAIN.md §8): ``/ETSI.CAdES.detached``,
approval signature only (never DocMDP certification), ``/Reason`` ``/Name`` ``/M`` set, the
signer's role as a CAdES claimed role and in ``/Reason``, a signature timestamp, validation
data in the DSS and a document timestamp; all as incremental updates, so PDF/A identification
and XMP metadata of the input survive.

The service owns one event loop in a background thread: the shared HTTP session, the TSA
clients and the revocation cache live there, and pyHanko's async API runs there. This is why
``sign_pades`` works from synchronous code and ``async_sign_pades`` from inside FastAPI
(pyHanko's own sync wrappers call ``asyncio.run()`` and fail inside a running loop).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from asn1crypto import cms, x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, SignerAttrSpec
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.constants import ESIC_EXTENSION_1
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    PdfSigningSession,
    PdfTBSDocument,
    PostSignInstructions,
    PreSignValidationStatus,
    TimestampDSSContentSettings,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession

from signing.config import SignatureRequest, SigningConfig
from signing.errors import (
    InvalidDocument,
    KeyUnavailable,
    RevocationUnavailable,
    SignatureFieldError,
    SigningError,
    TimestampAttempt,
    TimestampUnavailable,
)
from signing.keys import ConfiguredSigner, KeyStore, load_certificates
from signing.revocation import RevocationCache, RevocationSnapshot
from signing.signing_certificate_cache import install as cache_signing_certificates
from signing.stamp import stamp_characters, stamp_style, stamp_text_params
from signing.timestamps import ConfiguredTimeStamper, TimestampRequestError, failure_reason
from signing.xmp_preservation import install as keep_xmp_as_written

# Every incremental update this package makes must keep the PDF/A and PDF-LT metadata.
keep_xmp_as_written()
cache_signing_certificates()

__all__ = ["PdfLtSigner", "PreparedSignature", "SigningService"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


class PdfLtSigner(PdfSigner):
    """pyHanko's signer, but the output stays PDF 1.7 (PDF/A-2 and PDF-LT-V1.0 require it).

    For ECDSA on P-256/P-384 pyHanko also declares the ISO 32002 extension, which bumps the
    catalog /Version to 2.0; PAdES (ETSI EN 319 142-1) needs only the ESIC extension on 1.7.
    """

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(ESIC_EXTENSION_1)


@dataclass
class PreparedSignature:
    """State of a document waiting for its CMS signature (used by the remote-signing flow)."""

    signer: ConfiguredSigner
    timestamper: ConfiguredTimeStamper
    snapshot: RevocationSnapshot
    signing_session: PdfSigningSession
    tbs_document: PdfTBSDocument
    prepared_digest: PreparedByteRangeDigest
    output: BytesIO
    signed_attributes: PdfCMSSignedAttributes


class SigningService:
    """Created once per process: key cache, TSA clients, revocation cache, event loop.

    Use :meth:`signer_for` to get a cached key, then :meth:`sign_pades` (sync) or
    :meth:`async_sign_pades` (inside an event loop). Call :meth:`close` at shutdown.
    """

    def __init__(self, config: SigningConfig, *, key_store: KeyStore | None = None) -> None:
        self.config = config
        self.keys = key_store or KeyStore(config.keys)
        self._trust_roots: list[x509.Certificate] = load_certificates(config.trust_roots)
        self._zone = ZoneInfo(config.local_timezone)
        stamp_style(config.stamp_font_path, config.stamp_notice)  # a wrong font fails here
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tiltas-signing-loop", daemon=True
        )
        self._thread.start()
        self._session = LazySession()  # type: ignore[no-untyped-call]
        self.timestampers = tuple(
            ConfiguredTimeStamper(authority, self._session)
            for authority in config.timestamp_authorities
        )
        self.revocation = RevocationCache(
            self._trust_roots,
            self._session,
            refresh_fraction=config.revocation_refresh_fraction,
            max_age=timedelta(seconds=config.revocation_max_age_seconds),
        )
        self._closed = False
        self._presign: weakref.WeakKeyDictionary[
            ValidationContext, dict[str, PreSignValidationStatus]
        ] = weakref.WeakKeyDictionary()

    @property
    def trust_roots(self) -> list[x509.Certificate]:
        return list(self._trust_roots)

    def signer_for(self, organisation_code: str, role: str) -> ConfiguredSigner:
        return self.keys.signer_for(organisation_code, role)

    def sign_pades(self, pdf: bytes, signer: ConfiguredSigner, request: SignatureRequest) -> bytes:
        """Sign ``pdf`` to PAdES B-LTA and return the new PDF (input left untouched).

        :raises TimestampUnavailable: no TSA answered; nothing was signed.
        :raises SigningError: any other failure (see ``signing.errors``).
        """
        return self.run(self._sign(pdf, signer, request))

    async def async_sign_pades(
        self, pdf: bytes, signer: ConfiguredSigner, request: SignatureRequest
    ) -> bytes:
        """:meth:`sign_pades` for async callers; the work runs on the service's loop."""
        return await self.run_async(self._sign(pdf, signer, request))

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the service loop and wait (not from inside that loop)."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("SigningService.run called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def run_async(self, coroutine: Coroutine[Any, Any, _T]) -> Awaitable[_T]:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            closing = self._session.close()  # type: ignore[no-untyped-call]
            asyncio.run_coroutine_threadsafe(closing, self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self.keys.close()

    def __enter__(self) -> SigningService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals (run on the service loop) ---------------------------------------------

    async def _sign(self, pdf: bytes, signer: ConfiguredSigner, request: SignatureRequest) -> bytes:
        attempts: list[TimestampAttempt] = []
        for timestamper in self.timestampers:
            try:
                prepared = await self._prepare(pdf, signer, request, timestamper)
                signature_cms = await self._sign_digest(prepared)
                return await self._finish(prepared, signature_cms)
            except TimestampRequestError as exc:
                reason = failure_reason(exc)
                logger.warning(
                    "TSA failed, trying the next one", extra={"tsa": timestamper.authority.url}
                )
                attempts.append(TimestampAttempt(timestamper.authority.url, reason))
        raise TimestampUnavailable(attempts)

    async def _sign_digest(self, prepared: PreparedSignature) -> cms.ContentInfo:
        signer = prepared.signer.pyhanko_signer
        md_algorithm = prepared.tbs_document.md_algorithm
        try:
            signed_attributes = await signer.signed_attrs(
                prepared.prepared_digest.document_digest,
                md_algorithm,
                attr_settings=prepared.signed_attributes,
                use_pades=True,
                timestamper=prepared.timestamper,
            )
            # asn1crypto re-encodes a structure built from Python values on every dump(), and
            # pyHanko dumps the signed attributes and the CMS several times: parsed from
            # DER, later dumps are free (see also signing.signing_certificate_cache).
            signature_cms = _parsed(
                await signer.async_sign_prescribed_attributes(
                    md_algorithm, _parsed(signed_attributes), timestamper=prepared.timestamper
                )
            )
        except (TimestampRequestError, SigningError):
            raise
        except Exception as exc:  # token / key failures: PKCS#11 raises its own hierarchy
            if isinstance(exc.__cause__, TimestampRequestError):
                raise exc.__cause__ from exc
            raise KeyUnavailable(
                "the key could not produce a signature",
                key_id=prepared.signer.key_id,
                reason=type(exc).__name__,
            ) from exc
        return signature_cms

    async def _prepare(
        self,
        pdf: bytes,
        signer: ConfiguredSigner,
        request: SignatureRequest,
        timestamper: ConfiguredTimeStamper,
    ) -> PreparedSignature:
        writer = _open_writer(pdf)
        _check_field(writer.prev, request)
        snapshot = await self.revocation.snapshot_for(signer, timestamper)
        context = self.revocation.validation_context(snapshot)
        role = request.role or signer.position
        cades_attributes = CAdESSignedAttrSpec(
            signer_attributes=SignerAttrSpec(
                claimed_attrs=[_claimed_role(role)], certified_attrs=[]
            )
        )
        metadata = PdfSignatureMetadata(
            field_name=request.field_name,
            md_algorithm="sha256",
            reason=f"{request.reason} (vaidmuo: {role})",
            name=signer.signer_name,
            location=request.location,
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=False,
            embed_validation_info=True,
            use_pades_lta=True,
            # The validation data for the signature and for the document timestamp go into
            # the timestamp's revision: one incremental update fewer (pyHanko's default
            # re-read and re-wrote the whole file once more to add the TSA's data after it).
            # That needs the DSS without VRI entries, which PAdES no longer uses.
            dss_settings=DSSContentSettings(
                include_vri=False,
                next_ts_settings=TimestampDSSContentSettings(
                    include_vri=False, update_before_ts=True
                ),
            ),
            validation_context=context,
            cades_signed_attr_spec=cades_attributes,
        )
        new_field = request.new_field
        pdf_signer = PdfLtSigner(
            metadata,
            signer.pyhanko_signer,
            timestamper=timestamper,
            stamp_style=stamp_style(
                self.config.stamp_font_path,
                self.config.stamp_notice,
                stamp_characters(signer.signer_name, signer.position),
            ),
            new_field_spec=(
                fields.SigFieldSpec(new_field.name, on_page=new_field.page, box=new_field.box)
                if new_field is not None
                else None
            ),
        )
        signing_time = datetime.now(self._zone)
        try:
            session = pdf_signer.init_signing_session(
                writer, existing_fields_only=new_field is None
            )
            session.system_time = signing_time
            validation_info = await self._presign_validation(session, writer, signer, context)
            tbs_document = session.prepare_tbs_document(
                validation_info=validation_info,
                bytes_reserved=self.config.signature_bytes_reserved,
                appearance_text_params=stamp_text_params(
                    signer.signer_name, signer.position, signing_time, self.config.stamp_notice
                ),
            )
        except TimestampRequestError:
            raise
        except PyHankoSigningError as exc:
            if isinstance(exc.__cause__, TimestampRequestError):
                raise exc.__cause__ from exc
            raise _classify_pyhanko_error(exc, request) from exc
        except PdfError as exc:
            raise InvalidDocument("the PDF cannot be signed", reason=str(exc)[:200]) from exc
        prepared_digest, output = tbs_document.digest_tbs_document(output=BytesIO())
        assert isinstance(output, BytesIO)
        return PreparedSignature(
            signer=signer,
            timestamper=timestamper,
            snapshot=snapshot,
            signing_session=session,
            tbs_document=tbs_document,
            prepared_digest=prepared_digest,
            output=output,
            signed_attributes=PdfCMSSignedAttributes(
                signing_time=signing_time, cades_signed_attrs=cades_attributes
            ),
        )

    async def _presign_validation(
        self,
        session: PdfSigningSession,
        writer: IncrementalPdfFileWriter,
        signer: ConfiguredSigner,
        context: ValidationContext,
    ) -> PreSignValidationStatus | None:
        """pyHanko's checks of the signer's and the TSA's chains before signing. On a document
        not signed before they depend only on the key and the context (its data and moment),
        so they are made once per context; a later signature also covers the earlier document
        timestamp's chain and is checked each time."""
        if writer.prev.embedded_signatures:
            return await session.perform_presign_validation(writer)
        known = self._presign.setdefault(context, {})
        status = known.get(signer.certificate_sha256)
        if status is None:
            status = await session.perform_presign_validation(writer)
            if status is None:
                return None
            known[signer.certificate_sha256] = status
        # pyHanko appends to these lists while signing: each signature gets its own.
        return replace(
            status,
            validation_paths=list(status.validation_paths),
            ocsps_to_embed=list(status.ocsps_to_embed),
            crls_to_embed=list(status.crls_to_embed),
        )

    async def _finish(self, prepared: PreparedSignature, signature_cms: cms.ContentInfo) -> bytes:
        """Embed the CMS, then DSS and document timestamp (a fresh offline context)."""
        instructions = prepared.tbs_document.post_sign_instructions
        assert instructions is not None
        digest, snapshot = prepared.prepared_digest, prepared.snapshot
        return await self._resume(prepared.output, digest, signature_cms, instructions, snapshot)

    async def _resume(
        self,
        output: BytesIO,
        prepared_digest: PreparedByteRangeDigest,
        signature_cms: cms.ContentInfo,
        instructions: PostSignInstructions,
        snapshot: RevocationSnapshot,
    ) -> bytes:
        """Finish a prepared signature in ``output`` (possibly prepared in another process)."""
        post_sign = PdfTBSDocument.resume_signing(
            output,
            prepared_digest,
            signature_cms,
            post_sign_instr=instructions,
            validation_context=self.revocation.validation_context(snapshot),
        )
        try:
            await post_sign.post_signature_processing(output)
        except TimestampRequestError:
            raise
        except PyHankoSigningError as exc:
            raise SigningError("post-signature processing failed", reason=str(exc)[:200]) from exc
        return output.getvalue()

    def fresh_validation_context(self, signer: ConfiguredSigner) -> ValidationContext:
        """An offline context from the cached data of ``signer`` and the first TSA."""
        snapshot = self.run(self.revocation.snapshot_for(signer, self.timestampers[0]))
        return self.revocation.validation_context(snapshot)


_Asn1 = TypeVar("_Asn1", cms.CMSAttributes, cms.ContentInfo)


def _parsed(value: _Asn1) -> _Asn1:
    """The same ASN.1 value, parsed from its DER: dumps it once, then never again."""
    return type(value).load(value.dump())


def _claimed_role(role: str) -> cms.AttCertAttribute:
    """X.520 ``role`` attribute (RoleSyntax); a directory name keeps Lithuanian letters."""
    role_name = x509.GeneralName(
        name="directory_name", value=x509.Name.build({"common_name": role})
    )
    return cms.AttCertAttribute(
        {"type": "role", "values": [cms.RoleSyntax({"role_name": role_name})]}
    )


def _open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    """A writer for an incremental update; its reader (``prev``) is the one parse of ``pdf``."""
    if not pdf.startswith(b"%PDF-"):
        raise InvalidDocument("the input is not a PDF", reason="no_pdf_header")
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
    except (PdfError, ValueError) as exc:
        raise InvalidDocument("the PDF cannot be parsed", reason=str(exc)[:200]) from exc
    if writer.prev.encrypted:
        raise InvalidDocument("encrypted PDFs are not accepted (PDF-LT)", reason="encrypted")
    return writer


def _check_field(reader: PdfFileReader, request: SignatureRequest) -> None:
    existing = {name: filled for name, filled, _ in fields.enumerate_sig_fields(reader)}
    name = request.field_name
    if request.new_field is not None:
        if request.new_field.name != name:
            raise SignatureFieldError("new_field.name must equal field_name", field_name=name)
        if name in existing:
            raise SignatureFieldError("signature field already exists", field_name=name)
        if reader.embedded_signatures:
            raise SignatureFieldError(
                "the document is already signed: create all fields before the first signature",
                field_name=name,
            )
        return
    if name not in existing:
        raise SignatureFieldError("no such signature field", field_name=name)
    if existing[name] is not None:
        raise SignatureFieldError("signature field already signed", field_name=name)


def _classify_pyhanko_error(exc: PyHankoSigningError, request: SignatureRequest) -> SigningError:
    message = str(exc)
    if "validated" in message:
        return RevocationUnavailable(
            "the signer's certificate could not be validated",
            subject="signer",
            reason=message[:200],
        )
    return SignatureFieldError(message[:200], field_name=request.field_name)
