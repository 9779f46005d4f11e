-- The API's login role. Its name and password come from the DATABASE_URL secret at run time:
-- the runner sets webstack.app_role and webstack.app_password (a SCRAM-SHA-256 verifier, never
-- the password) for its session. Rerun after every `up`, so a rotated secret is picked up.
DO $$
DECLARE
  login text := nullif(current_setting('webstack.app_role', true), '');
  verifier text := nullif(current_setting('webstack.app_password', true), '');
BEGIN
  IF login IS NULL OR verifier IS NULL THEN
    RAISE EXCEPTION 'the API login role is not configured'
      USING HINT = 'pass --app-database-url (or APP_DATABASE_URL): its user and password '
                   'become the API''s login role';
  END IF;
  IF login = current_user THEN
    RAISE EXCEPTION 'the API must not log in as the migration user %', login;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = login AND (rolsuper OR rolcreaterole)) THEN
    RAISE EXCEPTION 'refusing to use the privileged role % as the API login role', login;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = login) THEN
    EXECUTE format('CREATE ROLE %I LOGIN', login);
  END IF;
  -- The API's pool (tasks x pool size) must fit under the limit, leaving room for the migrator
  -- and readers within max_connections.
  EXECUTE format('ALTER ROLE %I WITH LOGIN INHERIT CONNECTION LIMIT 200 PASSWORD %L',
                 login, verifier);
  EXECUTE format('GRANT app_readwrite TO %I', login);
  -- A request that runs 30 s or idles 60 s inside a transaction is a bug; end it before it
  -- holds locks and connections the rest of the site needs.
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', login, '30s');
  EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', login, '60s');
  EXECUTE format('ALTER ROLE %I SET search_path = app, public', login);
END $$;
