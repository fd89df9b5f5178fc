"""Keep a document's XMP metadata as written when pyHanko saves an incremental update.

Measured here: on every incremental save (signature fields, each signature, the DSS, the
document timestamp) pyHanko parses the XMP into its own model and writes it back in a
different form. For PDF-LT-V1.0 documents that loses meaning: ``xmpidq:Scheme`` of the level
identifier and the extension schema's ``namespaceURI`` become URI resources instead of text,
so the archive's checks no longer find the level A identifier or the LTUd schema. It also
takes two separate clock readings for the info dictionary and the XMP dates.

:func:`install` replaces pyHanko's metadata update with one that reads the clock once,
updates the info dictionary's existing entries as pyHanko does, and changes only
``xmp:ModifyDate``, ``xmp:MetadataDate`` (when present) and ``pdf:Producer`` in the XMP,
leaving every other byte of the packet's structure alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree
from pyhanko.pdf_utils import writer as pyhanko_writer
from pyhanko.pdf_utils.metadata import model as metadata_model
from pyhanko.pdf_utils.metadata.info import update_info_dict
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream

__all__ = ["install", "update_xmp_dates"]

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP = "http://ns.adobe.com/xap/1.0/"
PDF = "http://ns.adobe.com/pdf/1.3/"

_original_update_meta = pyhanko_writer.BasePdfFileWriter._update_meta
_installed = False


def _set_property(
    rdf: Any, namespace: str, prefix: str, name: str, value: str, *, add: bool
) -> None:
    qualified = f"{{{namespace}}}{name}"
    found = False
    for description in rdf.iter(f"{{{RDF}}}Description"):
        if qualified in description.attrib:
            description.set(qualified, value)
            found = True
        for element in description.findall(qualified):
            element.text = value
            found = True
    if not found and add:
        description = etree.SubElement(
            rdf, f"{{{RDF}}}Description", nsmap={"rdf": RDF, prefix: namespace}
        )
        description.set(f"{{{RDF}}}about", "")
        description.set(qualified, value)


def update_xmp_dates(packet: bytes, when: dt.datetime, producer: str) -> bytes:
    """The same XMP packet with the modification dates and the producer changed."""
    parser = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True)
    root = etree.fromstring(packet, parser)
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f".//{{{RDF}}}RDF")
    if rdf is None:
        raise ValueError("the XMP packet has no rdf:RDF element")
    stamp = when.replace(microsecond=0).isoformat()
    _set_property(rdf, XMP, "xmp", "ModifyDate", stamp, add=True)
    _set_property(rdf, XMP, "xmp", "MetadataDate", stamp, add=False)
    _set_property(rdf, PDF, "pdf", "Producer", producer, add=True)
    result: bytes = etree.tostring(root.getroottree(), encoding="utf-8")
    if not packet.lstrip().startswith(b"<?xml") and result.startswith(b"<?xml"):
        result = result.split(b"?>", 1)[1].lstrip(b"\n")
    return result


def _update_meta_keeping_xmp(self: Any) -> None:
    # Indexing (not .get) makes pyHanko parse /Metadata as a MetadataStream.
    stream = self.root["/Metadata"] if "/Metadata" in self.root else None  # noqa: SIM401
    if not isinstance(stream, MetadataStream):
        _original_update_meta(self)  # type: ignore[no-untyped-call]
        return
    # One clock reading for both places: PDF/A wants the info dictionary and XMP to agree.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    self._meta.last_modified = now
    if self._info is not None and update_info_dict(
        self._meta, self._info.get_object(), only_update_existing=True
    ):
        self.mark_update(self._info)
    # pyHanko appends itself to an existing /Producer; the XMP must say the same.
    producer = metadata_model.VENDOR
    if self._info is not None and "/Producer" in self._info.get_object():
        producer = str(self._info.get_object()["/Producer"])
    stream._data = update_xmp_dates(stream.data, now, producer)
    stream._encoded_data = None
    stream._xmp = None
    self.update_container(stream)


def install() -> None:
    """Make every pyHanko writer in this process keep the XMP as written (idempotent)."""
    global _installed
    if not _installed:
        pyhanko_writer.BasePdfFileWriter._update_meta = _update_meta_keeping_xmp  # type: ignore[method-assign]
        _installed = True
