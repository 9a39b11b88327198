"""What ``cinema etl sync`` follows: a log of changed ids, numbered in commit order.

Following ``updated_at`` loses rows: ``now()`` is the time a transaction *started*, so
a transaction that commits after a later-stamped one has been synced is never seen.
A sequence alone has the same flaw (``nextval`` runs before the commit). So the
numbers are taken *at commit*, by deferred constraint triggers, under an advisory
lock that PostgreSQL releases only after the commit is visible: whoever sees change
``n`` sees every change below ``n``, and a cursor on the number never skips one.
The cost is that commits touching the catalog are serialized, which a catalog
written by one ETL at a time does not notice.

One row per (stream, id), renumbered on every change, so the log stays as small as
the catalog, and a deleted film keeps its row: that is how sync learns to drop it.
Links log both ends (a film's document shows its people; a person's shows films).

Statements, not rows, pay for the log: a statement trigger stages the ids it changed
(from its transition tables) in ``change_pending`` and leaves one marker row per
transaction in ``change_flush``, whose deferred constraint trigger numbers the staged
ids at commit in one set-based statement. Row triggers did the same work once per row
(an import of 100k rows spent five sixths of its time in them).
"""

from __future__ import annotations

COMMIT_ORDER_LOCK = 5106
_TABLES = (
    ("film_work", "'films', 'id'"),
    ("person", "'persons', 'id'"),
    ("genre", "'genres', 'id'"),
    ("genre_film_work", "'films', 'film_work_id', 'genres', 'genre_id'"),
    ("person_film_work", "'films', 'film_work_id', 'persons', 'person_id'"),
)
_TRIGGERS = "\n".join(
    f"""
        DROP TRIGGER IF EXISTS {table}_changed ON content.{table};
        CREATE TRIGGER {table}_inserted AFTER INSERT ON content.{table}
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION content.stage_changes({streams});
        CREATE TRIGGER {table}_updated AFTER UPDATE ON content.{table}
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION content.stage_changes({streams});
        CREATE TRIGGER {table}_deleted AFTER DELETE ON content.{table}
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
            EXECUTE FUNCTION content.stage_changes({streams});"""
    for table, streams in _TABLES
)

CHANGE_LOG = f"""
CREATE SEQUENCE IF NOT EXISTS content.change_seq;
-- Ids changed by transactions not yet committed; emptied by their commit.
CREATE UNLOGGED TABLE IF NOT EXISTS content.change_pending (
    tx xid8 NOT NULL,
    stream text NOT NULL,
    id uuid NOT NULL
);
CREATE INDEX IF NOT EXISTS change_pending_tx ON content.change_pending (tx);
CREATE OR REPLACE FUNCTION content.stage_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
BEGIN
    -- Arguments come in pairs: the stream, and the column holding its id.
    WHILE i < TG_NARGS LOOP
        IF TG_OP <> 'DELETE' THEN
            EXECUTE format(
                'INSERT INTO content.change_pending (tx, stream, id)'
                ' SELECT DISTINCT pg_current_xact_id(), %L, %I FROM new_rows',
                TG_ARGV[i], TG_ARGV[i + 1]);
        END IF;
        IF TG_OP <> 'INSERT' THEN
            EXECUTE format(
                'INSERT INTO content.change_pending (tx, stream, id)'
                ' SELECT DISTINCT pg_current_xact_id(), %L, %I FROM old_rows',
                TG_ARGV[i], TG_ARGV[i + 1]);
        END IF;
        i := i + 2;
    END LOOP;
    INSERT INTO content.change_flush (tx) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION content.flush_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({COMMIT_ORDER_LOCK});
    INSERT INTO content.change (stream, id, seq)
    SELECT stream, id, nextval('content.change_seq')
      FROM (SELECT DISTINCT stream, id FROM content.change_pending WHERE tx = NEW.tx) AS d
    ON CONFLICT (stream, id) DO UPDATE SET seq = excluded.seq;
    DELETE FROM content.change_pending WHERE tx = NEW.tx;
    DELETE FROM content.change_flush WHERE tx = NEW.tx;
    RETURN NULL;
END $$;
DO $$
BEGIN
    IF to_regclass('content.change') IS NULL THEN
        CREATE TABLE content.change (
            stream text NOT NULL,
            id uuid NOT NULL,
            seq bigint NOT NULL,
            PRIMARY KEY (stream, id)
        );
        CREATE INDEX change_by_seq ON content.change (stream, seq);
        -- A catalog loaded before the log existed: everything is new to sync.
        INSERT INTO content.change (stream, id, seq)
        SELECT 'films', id, nextval('content.change_seq') FROM content.film_work
        UNION ALL SELECT 'persons', id, nextval('content.change_seq') FROM content.person
        UNION ALL SELECT 'genres', id, nextval('content.change_seq') FROM content.genre;
        -- The old cursor followed updated_at; the new one is a change number.
        DROP TABLE IF EXISTS content.sync_state;
        CREATE TABLE content.sync_position (stream text PRIMARY KEY, seq bigint NOT NULL);
    END IF;
    -- Last, so that a catalog logged by row triggers is moved to statement triggers.
    IF to_regclass('content.change_flush') IS NULL THEN
        -- One row per open transaction that changed the catalog: its commit hook.
        CREATE UNLOGGED TABLE content.change_flush (tx xid8 PRIMARY KEY);
        CREATE CONSTRAINT TRIGGER change_flush_at_commit
            AFTER INSERT ON content.change_flush
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.flush_changes();{_TRIGGERS}
        DROP FUNCTION IF EXISTS content.log_change();
    END IF;
END $$;
"""
