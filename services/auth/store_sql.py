"""The auth store on SQLAlchemy 2 async: SQLite (aiosqlite, embedded) or PostgreSQL (asyncpg).

The schema comes from the Alembic migrations in ``migrations/``, applied when the store
opens; the same migrations serve both dialects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.auth.keys import signing_key_from_pem
from services.auth.records import LoginHistoryPage, LoginRecord, UserAccount
from services.auth.refresh import IssuedRefreshToken, PresentedRefreshToken
from services.auth.store import LoginTaken
from services.auth.tables import login_events, refresh_tokens, signing_keys, token_families, users
from services.kit.cancellation import completes
from services.kit.keyring import SigningKey
from services.kit.sql import migrated_engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: Serializes migrations of replicas starting together on one PostgreSQL database.
_MIGRATION_LOCK_ID = 0x43494E45  # "CINE"


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone; everything we write is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


class SqlAuthStore:
    """:class:`services.auth.store.AuthStore` on a SQLAlchemy async engine.

    Writes run to completion (``@completes``): a cancelled caller never cuts a
    transaction between its statements or leaves a pooled connection mid-transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, dsn: str) -> SqlAuthStore:
        """Connects to the store named by ``dsn`` and brings its schema up to date."""
        return cls(
            await migrated_engine(
                dsn, "CINEMA_AUTH_DSN", MIGRATIONS, "auth_schema_version", _MIGRATION_LOCK_ID
            )
        )

    @completes
    async def create_user(self, user: UserAccount) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    users.insert().values(
                        id=user.id,
                        login=user.login,
                        login_key=user.login.lower(),
                        email=user.email,
                        password_hash=user.password_hash,
                        roles=",".join(user.roles),
                        created_at=user.created_at,
                    )
                )
        except IntegrityError as error:
            raise LoginTaken(user.login) from error

    async def user_by_login(self, login: str) -> UserAccount | None:
        return await self._user(users.c.login_key == login.lower())

    async def user_by_id(self, user_id: str) -> UserAccount | None:
        return await self._user(users.c.id == user_id)

    async def _user(self, condition: sa.ColumnElement[bool]) -> UserAccount | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(sa.select(users).where(condition))).first()
        if row is None:
            return None
        return UserAccount(
            id=row.id,
            login=row.login,
            email=row.email,
            roles=tuple(role for role in row.roles.split(",") if role),
            created_at=_utc(row.created_at),
            password_hash=row.password_hash,
        )

    @completes
    async def set_roles(self, user_id: str, roles: Sequence[str]) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                users.update().where(users.c.id == user_id).values(roles=",".join(roles))
            )

    @completes
    async def record_login(self, user_id: str, login: LoginRecord) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                login_events.insert().values(
                    user_id=user_id,
                    login_time=login.login_time,
                    user_agent=login.user_agent,
                    peer_address=login.peer_address,
                )
            )

    async def login_history(
        self, user_id: str, page_size: int, before: int | None
    ) -> LoginHistoryPage:
        query = sa.select(login_events).where(login_events.c.user_id == user_id)
        if before is not None:
            query = query.where(login_events.c.id < before)
        # The id grows with every login, so it orders newest first without ties.
        query = query.order_by(login_events.c.id.desc()).limit(page_size + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        page = rows[:page_size]
        logins = [
            LoginRecord(_utc(row.login_time), row.user_agent, row.peer_address) for row in page
        ]
        more = len(rows) > page_size
        return LoginHistoryPage(logins, page[-1].id if more and page else None)

    @completes
    async def start_token_family(self, token: IssuedRefreshToken) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                token_families.insert().values(
                    id=token.family_id, user_id=token.user_id, created_at=token.issued_at
                )
            )
            await self._insert_token(connection, token)

    async def _insert_token(self, connection: AsyncConnection, token: IssuedRefreshToken) -> None:
        await connection.execute(
            refresh_tokens.insert().values(
                token_hash=token.token_hash,
                family_id=token.family_id,
                user_id=token.user_id,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
            )
        )

    async def refresh_token(self, token_hash: str) -> PresentedRefreshToken | None:
        query = (
            sa.select(refresh_tokens, token_families.c.revoked_at)
            .join(token_families, token_families.c.id == refresh_tokens.c.family_id)
            .where(refresh_tokens.c.token_hash == token_hash)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return PresentedRefreshToken(
            token_hash=row.token_hash,
            family_id=row.family_id,
            user_id=row.user_id,
            expires_at=_utc(row.expires_at),
            used_at=_maybe_utc(row.used_at),
            family_revoked=row.revoked_at is not None,
        )

    @completes
    async def rotate_refresh_token(
        self, spent_hash: str, successor: IssuedRefreshToken, now: datetime
    ) -> bool:
        family_revoked = sa.exists().where(
            token_families.c.id == refresh_tokens.c.family_id,
            token_families.c.revoked_at.is_not(None),
        )
        # The conditional UPDATE comes first: it takes the write lock, and only one of
        # several concurrent uses of a token can see used_at still NULL.
        spend = (
            refresh_tokens.update()
            .where(
                refresh_tokens.c.token_hash == spent_hash,
                refresh_tokens.c.used_at.is_(None),
                ~family_revoked,
            )
            .values(used_at=now)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(spend)).rowcount != 1:
                return False
            await self._insert_token(connection, successor)
        return True

    @completes
    async def revoke_token_family(self, family_id: str, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                token_families.update()
                .where(token_families.c.id == family_id, token_families.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    async def signing_keys(self) -> list[SigningKey]:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(sa.select(signing_keys))).all()
        return [
            signing_key_from_pem(row.kid, row.private_key, _utc(row.created_at)) for row in rows
        ]

    @completes
    async def add_signing_key(self, key: SigningKey) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                signing_keys.insert().values(
                    kid=key.kid, private_key=key.private_pem(), created_at=key.created_at
                )
            )

    @completes
    async def remove_signing_keys(self, kids: Sequence[str]) -> None:
        if not kids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(signing_keys.delete().where(signing_keys.c.kid.in_(kids)))

    async def close(self) -> None:
        await self._engine.dispose()
