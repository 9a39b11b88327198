"""The ETL's row digests and id normalisation: fast paths give the same answers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime

import pytest

from etl.importer import record_hash
from etl.legacy import (
    BadRow,
    FilmRecord,
    GenreLinkRecord,
    GenreRecord,
    PersonLinkRecord,
    PersonRecord,
    Record,
    normalise_id,
)
from services.catalog.records import FilmType, PartialDate, Role

WHEN = datetime(2021, 6, 16, 20, 14, 9, 221855, tzinfo=UTC)
FILM = "11111111-1111-4111-8111-000000000001"
GENRE = "22222222-2222-4222-8222-000000000001"
PERSON = "33333333-3333-4333-8333-000000000001"
RECORDS: list[Record] = [
    GenreRecord(GENRE, "Sci-Fi", "", WHEN),
    PersonRecord(PERSON, "Lana", PartialDate(1965, 6), WHEN),
    PersonRecord("33333333-3333-4333-8333-000000000002", "Keanu", None, WHEN),
    FilmRecord(
        FILM,
        "The Matrix",
        "Reality.",
        PartialDate(1999, 3, 31),
        "R",
        "",
        8.7,
        FilmType.MOVIE,
        WHEN,
    ),
    FilmRecord(
        "11111111-1111-4111-8111-000000000002",
        "Amélie",
        "",
        None,
        "",
        "",
        None,
        FilmType.TV_SHOW,
        WHEN,
    ),
    GenreLinkRecord("44444444-4444-4444-8444-000000000001", FILM, GENRE, WHEN),
    PersonLinkRecord("55555555-5555-4555-8555-000000000001", FILM, PERSON, Role.DIRECTOR, WHEN),
]


def _reference_hash(record: Record) -> str:
    """The digest as the first ETL computed it: catalogs loaded then must stay unchanged."""
    content = json.dumps(dataclasses.asdict(record), default=str, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_record_hash_is_the_digest_stored_by_earlier_imports(record: Record) -> None:
    assert record_hash(record) == _reference_hash(record)


@pytest.mark.parametrize(
    "value",
    [
        "11111111-1111-4111-8111-000000000001",
        "11111111-1111-4111-8111-00000000000A",
        "{11111111-1111-4111-8111-000000000001}",
        "urn:uuid:11111111-1111-4111-8111-000000000001",
        "11111111111141118111000000000001",
        uuid.UUID("11111111-1111-4111-8111-000000000001"),
    ],
)
def test_ids_are_normalised_as_uuid_does(value: object) -> None:
    assert normalise_id(value) == str(uuid.UUID(str(value)))


@pytest.mark.parametrize(
    "value", ["", "not-a-uuid", None, 42, "11111111-1111-4111-8111-00000000000g"]
)
def test_an_id_that_is_not_a_uuid_is_a_bad_row(value: object) -> None:
    with pytest.raises(BadRow, match="not a UUID"):
        normalise_id(value)
