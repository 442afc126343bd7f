-- Runs once, when the postgres container initialises an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- The application gets its own database; Temporal creates and owns
-- "temporal" and "temporal_visibility" itself (temporalio/auto-setup).
CREATE DATABASE collections;
