#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (mounted into /docker-entrypoint-initdb.d by docker-compose.yml). It creates
# two unprivileged roles from the passwords in .env:
#
#   temporal     may create databases: the temporal-schema job creates and
#                migrates "temporal" and "temporal_visibility" as this role
#   collections  owns the application database "collections"
#
# The superuser (POSTGRES_PASSWORD) is used by nothing else. Changing a
# password later: ALTER ROLE ... PASSWORD ..., then the same value in .env.
set -eu
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD in .env}"
: "${COLLECTIONS_DB_PASSWORD:?set COLLECTIONS_DB_PASSWORD in .env}"

# psql substitutes :'name' as a quoted literal: passwords need no escaping.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v temporal_pw="$TEMPORAL_DB_PASSWORD" -v collections_pw="$COLLECTIONS_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
CREATE ROLE collections LOGIN PASSWORD :'collections_pw';
CREATE DATABASE collections OWNER collections;
REVOKE ALL ON DATABASE collections FROM PUBLIC;
SQL
