-- The application schema and the two privilege groups every later migration relies on:
--   app_readwrite  NOLOGIN; what the API needs: DML on tables, sequences and functions in `app`.
--                  The API's login role (named by the DATABASE_URL secret) joins it in
--                  repeatable/app_login.sql, so no file ever names that role or its password.
--   app_readonly   SELECT only, in read-only transactions. A login role without a password:
--                  on RDS it signs in with IAM tokens (rds_iam), so there is no secret to leak.
-- Roles are cluster-wide and outlive a database restore, so they are created only if missing.
-- Runs as the RDS master user, which is not a superuser: no SUPERUSER/REPLICATION attributes.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_readwrite') THEN
    CREATE ROLE app_readwrite NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_readonly') THEN
    CREATE ROLE app_readonly LOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    GRANT rds_iam TO app_readonly;
  END IF;
  -- Only the migrator (the owner) and the two groups may connect to this database.
  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO app_readwrite, app_readonly', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO app_readwrite', current_database());
END $$;

-- Readers run reports by hand: generous timeouts, but never a write and never many sessions.
ALTER ROLE app_readonly CONNECTION LIMIT 10;
ALTER ROLE app_readonly SET default_transaction_read_only = on;
ALTER ROLE app_readonly SET statement_timeout = '5min';
ALTER ROLE app_readonly SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE app_readonly SET search_path = app, public;

-- The migrator owns the schema and everything in it, so neither the API nor a reader can alter
-- or drop a table; they get exactly the privileges granted below.
CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION CURRENT_USER;
REVOKE ALL ON SCHEMA app FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO app_readwrite, app_readonly;

-- Whatever later migrations create in `app` is granted automatically.
ALTER DEFAULT PRIVILEGES IN SCHEMA app
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_readwrite;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT USAGE, SELECT ON SEQUENCES TO app_readwrite;
ALTER DEFAULT PRIVILEGES IN SCHEMA app REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO app_readwrite;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO app_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON SEQUENCES TO app_readonly;
