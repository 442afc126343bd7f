#!/bin/sh
# Creates Temporal's two databases and brings their schemas to the version of
# the temporalio/admin-tools image it runs in (the same version as the
# temporalio/server image: both are TEMPORAL_VERSION in docker-compose.yml).
# Safe on every start: creating an existing database is a no-op,
# `setup-schema -v 0.0` only adds the version table, `update-schema` applies
# only the missing versions. Upgrading Temporal: raise TEMPORAL_VERSION and
# `docker compose up -d`; this job migrates before the new server starts.
set -eu
: "${SQL_HOST:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
export SQL_PLUGIN=postgres12 SQL_PORT="${SQL_PORT:-5432}"
schema=/etc/temporal/schema/postgresql/v12

for pair in temporal:temporal temporal_visibility:visibility; do
	db=${pair%%:*}
	dir=${pair#*:}
	echo "temporal-schema: $db"
	temporal-sql-tool --db "$db" create-database --default-db postgres
	temporal-sql-tool --db "$db" setup-schema -v 0.0
	temporal-sql-tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo "temporal-schema: up to date"
