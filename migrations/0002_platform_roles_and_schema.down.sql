-- Reverse of 0002 for a database that holds no application data yet. The cluster-wide roles
-- stay: other databases on the instance may use them, and the API's login role depends on them.
DROP SCHEMA app;
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END $$;
