"""Apply the schema to every shard database, seed its cities, and roll the event partitions.

    python -m app.tickets.migrate [--config app.yml] [migrate|roll-partitions]

Safe to run from several places at once (an advisory lock serialises runners per database) and
to repeat (applied versions are recorded). Prints one JSON line: what changed, per shard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

from app.common.db import primary_dsn
from app.common.settings import Settings, SettingsError, load_settings
from app.tickets import partitions
from app.tickets.schema import MIGRATIONS

LOCK_ID = 0x726F6164  # "road": one migrator per database at a time


async def migrate_shard(settings: Settings, shard: str, apply_schema: bool = True) -> dict[str, object]:
    dsn = primary_dsn(settings.postgres, settings.shards[shard], "roadie-migrate")
    done: dict[str, object] = {"applied": [], "cities": 0}
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        await conn.execute("SET statement_timeout = 0")
        await conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        if apply_schema:
            done["applied"] = await _apply(conn)
            done["cities"] = await _seed_cities(conn, settings, shard)
        tickets = settings.tickets
        plan = await partitions.roll(
            conn, datetime.now(UTC).date(), tickets.partitions_ahead_months, tickets.partitions_keep_months
        )
        done["partitions_created"] = [m.table for m in plan.create]
        done["partitions_archived"] = [m.table for m in plan.archive]
    return done


async def _apply(conn: psycopg.AsyncConnection) -> list[int]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    cur = await conn.execute("SELECT version FROM schema_migrations")
    have = {row["version"] for row in await cur.fetchall()}
    applied = []
    for migration in MIGRATIONS:
        if migration.version in have:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
        applied.append(migration.version)
    return applied


async def _seed_cities(conn: psycopg.AsyncConnection, settings: Settings, shard: str) -> int:
    changed = 0
    for city in settings.cities:
        if city.shard != shard:
            continue
        cur = await conn.execute(
            "INSERT INTO cities (id, name) VALUES (%s, %s) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name WHERE cities.name <> EXCLUDED.name",
            (city.id, city.name),
        )
        changed += cur.rowcount
    return changed


def changed(report: dict[str, dict[str, object]]) -> bool:
    return any(
        shard["applied"] or shard["cities"] or shard["partitions_created"] or shard["partitions_archived"]
        for shard in report.values()
    )


async def run(settings: Settings, command: str) -> dict[str, dict[str, object]]:
    apply_schema = command == "migrate"
    return {shard: await migrate_shard(settings, shard, apply_schema) for shard in sorted(settings.shards)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.tickets.migrate", description=__doc__)
    parser.add_argument("--config", help="app.yml (default: $ROADIE_APP_CONFIG)")
    parser.add_argument("command", nargs="?", default="migrate", choices=["migrate", "roll-partitions"])
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        report = asyncio.run(run(settings, args.command))
    except (SettingsError, psycopg.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"changed": changed(report), "shards": report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
