-- Extensions the platform relies on. IF NOT EXISTS: a restored snapshot, or a database made
-- from a template, may already have them. pgcrypto is trusted (any database owner may create
-- it); pg_stat_statements needs shared_preload_libraries=pg_stat_statements, which RDS's
-- default parameter group sets, and RDS lets its master user (rds_superuser) create it.
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;
