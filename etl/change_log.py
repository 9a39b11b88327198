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
"""

from __future__ import annotations

COMMIT_ORDER_LOCK = 5106

CHANGE_LOG = f"""
CREATE SEQUENCE IF NOT EXISTS content.change_seq;
CREATE OR REPLACE FUNCTION content.log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    i integer := 0;
    changed uuid[];
BEGIN
    PERFORM pg_advisory_xact_lock({COMMIT_ORDER_LOCK});
    -- Arguments come in pairs: the stream, and the column holding its id.
    WHILE i < TG_NARGS LOOP
        changed := ARRAY[]::uuid[];
        IF TG_OP <> 'DELETE' THEN
            changed := changed || (to_jsonb(NEW) ->> TG_ARGV[i + 1])::uuid;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            changed := changed || (to_jsonb(OLD) ->> TG_ARGV[i + 1])::uuid;
        END IF;
        INSERT INTO content.change (stream, id, seq)
        SELECT TG_ARGV[i], c, nextval('content.change_seq')
          FROM (SELECT DISTINCT unnest(changed) AS c) AS d
        ON CONFLICT (stream, id) DO UPDATE SET seq = excluded.seq;
        i := i + 2;
    END LOOP;
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
        CREATE CONSTRAINT TRIGGER film_work_changed
            AFTER INSERT OR UPDATE OR DELETE ON content.film_work
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.log_change('films', 'id');
        CREATE CONSTRAINT TRIGGER person_changed
            AFTER INSERT OR UPDATE OR DELETE ON content.person
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.log_change('persons', 'id');
        CREATE CONSTRAINT TRIGGER genre_changed
            AFTER INSERT OR UPDATE OR DELETE ON content.genre
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.log_change('genres', 'id');
        CREATE CONSTRAINT TRIGGER genre_film_work_changed
            AFTER INSERT OR UPDATE OR DELETE ON content.genre_film_work
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.log_change('films', 'film_work_id', 'genres', 'genre_id');
        CREATE CONSTRAINT TRIGGER person_film_work_changed
            AFTER INSERT OR UPDATE OR DELETE ON content.person_film_work
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION content.log_change('films', 'film_work_id', 'persons', 'person_id');
    END IF;
END $$;
"""
