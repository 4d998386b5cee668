-- First start of the `postgres` service in deploy/compose.yaml (run once, by the image's
-- docker-entrypoint-initdb.d, as the superuser, on an empty data directory).
--
-- Two databases on one server, each with its own role:
--   prefect  the Prefect server's database (PREFECT_SERVER_DATABASE_CONNECTION_URL);
--            needs the pg_trgm extension, created here by the superuser so the prefect role
--            does not need the right to create extensions;
--   ketnap   ketnap's own data (KETNAP_DATABASE_URL), the source of truth and the audit record.
-- The passwords come from the environment of the postgres container (see compose.yaml).

\set prefect_password `echo "$PREFECT_DB_PASSWORD"`
\set ketnap_password `echo "$KETNAP_DB_PASSWORD"`

CREATE ROLE prefect LOGIN PASSWORD :'prefect_password';
CREATE ROLE ketnap LOGIN PASSWORD :'ketnap_password';

CREATE DATABASE prefect OWNER prefect;
CREATE DATABASE ketnap OWNER ketnap ENCODING 'UTF8' TEMPLATE template0;

\connect prefect
CREATE EXTENSION IF NOT EXISTS pg_trgm;
