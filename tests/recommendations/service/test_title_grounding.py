"""Grounding titles in the catalog from the recommender: a title the catalog would refuse
matches nothing, and the rest are asked in batches the catalog accepts."""

from __future__ import annotations

from services.recommendations.catalog import CatalogClient
from tests.recommendations.service.conftest import StartStack
from tests.recommendations.service.films import IDS


async def test_titles_the_catalog_would_refuse_match_nothing_and_spoil_nothing(
    start_stack: StartStack,
) -> None:
    stack = await start_stack()
    catalog = CatalogClient(lambda: stack.settings.mesh.catalog_target)
    refused = ["\ufdfa" * 300, "x" * 301, "   "]
    # 200 long made-up titles: more, in count and in characters, than one MatchTitles takes.
    made_up = [f"{n} {'a made-up film ' * 18}" for n in range(200)]
    titles = ["Heat", *refused, *made_up, "Dune"]
    try:
        found = await catalog.ground([(title, None) for title in titles])
    finally:
        await catalog.close()
    assert found == [IDS["Heat"], *[None] * (len(refused) + len(made_up)), IDS["Dune"]]
