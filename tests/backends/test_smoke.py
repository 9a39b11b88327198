"""Each real backend server answers through the client library the services use."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest


async def test_postgres_round_trip_through_asyncpg(postgres_dsn: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("CREATE TABLE movies (id serial PRIMARY KEY, title text NOT NULL)")
        await conn.execute("INSERT INTO movies (title) VALUES ($1), ($2)", "Alien", "Heat")
        rows = await conn.fetch("SELECT title FROM movies ORDER BY id")
        assert [row["title"] for row in rows] == ["Alien", "Heat"]
        assert await conn.fetchval("SELECT current_database()") == postgres_dsn.rsplit("/", 1)[1]
    finally:
        await conn.close()


async def test_redis_returns_the_value_it_was_given(redis_url: str, redis_key_prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.dbsize() == 0  # a clean database for this test
        await client.set(f"{redis_key_prefix}movie:1", "Solaris", ex=60)
        assert await client.get(f"{redis_key_prefix}movie:1") == "Solaris"
    finally:
        await client.aclose()


async def test_elasticsearch_finds_an_indexed_document_after_refresh(
    elasticsearch_url: str, es_index_prefix: str
) -> None:
    from elasticsearch import AsyncElasticsearch

    index = f"{es_index_prefix}movies"
    client = AsyncElasticsearch(elasticsearch_url)
    try:
        await client.indices.create(
            index=index,
            mappings={"properties": {"title": {"type": "text"}, "year": {"type": "integer"}}},
        )
        await client.index(index=index, id="1", document={"title": "The Thing", "year": 1982})
        await client.index(index=index, id="2", document={"title": "Stalker", "year": 1979})
        await client.indices.refresh(index=index)
        found = await client.search(index=index, query={"match": {"title": "thing"}})
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["1"]
    finally:
        await client.close()


async def test_mongodb_finds_inserted_documents_and_enforces_unique_index(
    mongodb_url: str, mongo_database_name: str
) -> None:
    from pymongo import AsyncMongoClient
    from pymongo.errors import DuplicateKeyError

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    try:
        movies = client[mongo_database_name]["movies"]
        await movies.create_index("slug", unique=True)
        await movies.insert_one({"slug": "ran", "title": "Ran", "year": 1985})
        found = await movies.find_one({"slug": "ran"}, {"_id": 0})
        assert found == {"slug": "ran", "title": "Ran", "year": 1985}
        with pytest.raises(DuplicateKeyError):
            await movies.insert_one({"slug": "ran", "title": "Ran (again)"})
        assert await movies.count_documents({}) == 1
    finally:
        await client.close()


async def test_kafka_delivers_a_produced_message_to_a_consumer(
    kafka_bootstrap: str, kafka_topic: str
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(kafka_topic, b'{"movie": "Playtime"}', key=b"user-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        kafka_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"smoke-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        assert (message.key, message.value) == (b"user-1", b'{"movie": "Playtime"}')
    finally:
        await consumer.stop()
