-- The login of the restore-test validation (restore_check/handler.py): it reads the bookkeeping
-- table of the primary and of each copy AWS Backup restores from it, and nothing else. It has
-- no password: on RDS it signs in with IAM tokens (rds_iam), so there is no secret to leak, and
-- being in the database it is in every backup, so a restored copy admits it too.
-- Roles are cluster-wide and outlive a database restore, so it is created only if missing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restore_check') THEN
    CREATE ROLE restore_check LOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
    GRANT rds_iam TO restore_check;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO restore_check', current_database());
END $$;

-- One check at a time, read-only, quick: it never holds a lock a migration would wait for.
ALTER ROLE restore_check CONNECTION LIMIT 2;
ALTER ROLE restore_check SET default_transaction_read_only = on;
ALTER ROLE restore_check SET statement_timeout = '30s';
ALTER ROLE restore_check SET lock_timeout = '5s';

-- The runner creates this schema and table before any migration runs.
GRANT USAGE ON SCHEMA migrations TO restore_check;
GRANT SELECT ON migrations.applied TO restore_check;
