-- The API's login role. Its name and password come from the DATABASE_URL secret at run time:
-- the runner sets webstack.app_role and webstack.app_password (a SCRAM-SHA-256 verifier, never
-- the password) for its session. Rerun after every `up`, so a rotated secret is picked up.
-- Its limits come from the deploy's configuration the same way (webstack.app_connection_limit,
-- webstack.app_statement_timeout, webstack.app_idle_in_transaction_timeout), so they never
-- drift from the pools and timeouts the API itself is configured with.
DO $$
DECLARE
  login text := nullif(current_setting('webstack.app_role', true), '');
  verifier text := nullif(current_setting('webstack.app_password', true), '');
  connection_limit text := nullif(current_setting('webstack.app_connection_limit', true), '');
  statement_limit text := nullif(current_setting('webstack.app_statement_timeout', true), '');
  idle_timeout text :=
    nullif(current_setting('webstack.app_idle_in_transaction_timeout', true), '');
BEGIN
  IF login IS NULL OR verifier IS NULL THEN
    RAISE EXCEPTION 'the API login role is not configured'
      USING HINT = 'pass --app-database-url (or APP_DATABASE_URL): its user and password '
                   'become the API''s login role';
  END IF;
  IF connection_limit IS NULL OR statement_limit IS NULL OR idle_timeout IS NULL THEN
    RAISE EXCEPTION 'the API login role''s limits are not configured'
      USING HINT = 'run it with the runner, which sets webstack.app_connection_limit, '
                   'webstack.app_statement_timeout and webstack.app_idle_in_transaction_timeout';
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
  -- Every API and worker pool together must fit under the limit; what max_connections leaves
  -- above it is for the migrator, consoles and the RDS reserve.
  EXECUTE format('ALTER ROLE %I WITH LOGIN INHERIT CONNECTION LIMIT %s PASSWORD %L',
                 login, connection_limit::integer, verifier);
  EXECUTE format('GRANT app_readwrite TO %I', login);
  -- A request that runs longer or idles inside a transaction longer than the API is configured
  -- to allow is a bug; end it before it holds locks and connections the rest of the site needs.
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', login, statement_limit);
  EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L',
                 login, idle_timeout);
  EXECUTE format('ALTER ROLE %I SET search_path = app, public', login);
END $$;
