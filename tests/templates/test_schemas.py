"""The registry and the data schemas: strict, described, with clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from templates.schemas import (
    CommissionProtocolData,
    DocumentTypeId,
    Envelope,
    FreePlacesData,
    QuestionnaireData,
    ReleaseNoticeData,
)
from templates.template_check import _ListOf, _type_of
from templates.types import DOCUMENT_TYPES, UnknownDocumentType, document_type, sample
from tiltas.errors import NotFound


def _envelope() -> dict[str, Any]:
    envelope, _ = sample("A")
    return envelope.model_dump(mode="json")


def _errors(model: type[BaseModel], value: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(value)
    return [(".".join(str(p) for p in e["loc"]), e["type"]) for e in raised.value.errors()]


def test_the_registry_has_the_fifteen_types_of_the_catalogue() -> None:
    assert [t.value for t in DOCUMENT_TYPES] == [
        "A",
        "B",
        "B2",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "N",
    ]
    for kind in DOCUMENT_TYPES.values():
        assert kind.template_file.is_file(), kind.id
        assert kind.title and kind.receives and kind.signer_roles
        assert set(kind.required_signer_roles) <= set(kind.signer_roles)


def test_types_are_frozen() -> None:
    kind = document_type("A")
    with pytest.raises(AttributeError):
        kind.title = "x"  # type: ignore[misc]


def test_unknown_type_is_a_domain_error() -> None:
    with pytest.raises(UnknownDocumentType) as raised:
        document_type("Z")
    assert isinstance(raised.value, NotFound)
    assert raised.value.type_id == "Z"


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_every_sample_is_valid(type_id: DocumentTypeId) -> None:
    envelope, data = sample(type_id)
    kind = document_type(type_id)
    assert isinstance(data, kind.schema)
    assert Envelope.model_validate(envelope.model_dump(mode="json")) == envelope
    assert kind.schema.model_validate(data.model_dump(mode="json")) == data


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        found = _type_of(field.annotation)
        while isinstance(found, _ListOf):
            found = found.item
        if isinstance(found, type) and issubclass(found, BaseModel):
            _models(found, seen)


def test_every_field_is_described_and_every_model_forbids_extra_fields() -> None:
    models: set[type[BaseModel]] = set()
    _models(Envelope, models)
    for kind in DOCUMENT_TYPES.values():
        _models(kind.schema, models)
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_unknown_fields_are_refused_in_the_envelope_and_the_data() -> None:
    envelope = _envelope()
    envelope["author"]["fax"] = "123"
    envelope["colour"] = "blue"
    assert sorted(_errors(Envelope, envelope)) == [
        ("author.fax", "extra_forbidden"),
        ("colour", "extra_forbidden"),
    ]
    _, data = sample("A")
    raw = data.model_dump(mode="json")
    raw["needs"][0]["priority"] = 1
    assert _errors(ReleaseNoticeData, raw) == [("needs.0.priority", "extra_forbidden")]


def test_bad_values_are_refused_with_the_field_named() -> None:
    envelope = _envelope()
    envelope["author"]["email"] = "not-an-email"
    envelope["author"]["code"] = "12"
    envelope["subject"]["personal_code"] = "38501011238"
    envelope["registration"]["date"] = "2026-02-30"
    envelope["signers"] = []
    errors = dict(_errors(Envelope, envelope))
    assert errors == {
        "author.email": "string_pattern_mismatch",
        "author.code": "string_pattern_mismatch",
        "subject.personal_code": "personal_code_check_digit",
        "registration.date": "date_from_datetime_parsing",
        "signers": "too_short",
    }


def test_the_subject_needs_a_personal_code_or_a_birth_date() -> None:
    envelope = _envelope()
    envelope["subject"]["personal_code"] = None
    assert _errors(Envelope, envelope) == [("subject", "identity_missing")]
    envelope["subject"]["birth_date"] = "1985-01-01"
    Envelope.model_validate(envelope)


def test_the_protocol_names_exactly_one_chair_and_one_secretary() -> None:
    _, data = sample("K")
    raw = data.model_dump(mode="json")
    raw["members_present"][1]["role"] = "member"
    assert _errors(CommissionProtocolData, raw) == [("", "commission_roles")]


def test_a_vacancy_date_needs_an_unplanned_vacancy() -> None:
    raw = {
        "as_of": "2026-05-04",
        "free_places_now": 1,
        "planned_this_month": 0,
        "vacancy_date": "2026-05-03",
    }
    assert _errors(FreePlacesData, raw) == [("", "vacancy_date")]
    raw["free_places_now"] = -1
    raw["unplanned_vacancy"] = True
    assert _errors(FreePlacesData, raw) == [("free_places_now", "greater_than_equal")]


def test_questionnaire_marks_must_be_known_options() -> None:
    _, data = sample("H")
    raw = data.model_dump(mode="json")
    raw["marked"].append("leisure.7")
    with pytest.raises(ValidationError) as raised:
        QuestionnaireData.model_validate(raw)
    assert "leisure.7" in str(raised.value)
