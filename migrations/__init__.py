"""webstack's database migrations: SQL files, the psycopg runner and its Lambda handler.

`NNNN_name.sql` files apply in order (optional `NNNN_name.down.sql` is the explicit reverse
plan); `repeatable/*.sql` are idempotent scripts rerun after every `up` (the API's login role,
whose password follows the DATABASE_URL secret). See `python -m migrations --help`.
"""
