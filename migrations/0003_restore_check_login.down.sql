-- Revoke what 0003 granted in this database; the role itself is cluster-wide and is left for
-- an administrator to drop once no database grants it anything.
REVOKE SELECT ON migrations.applied FROM restore_check;
REVOKE USAGE ON SCHEMA migrations FROM restore_check;
DO $$
BEGIN
  EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM restore_check', current_database());
END $$;
