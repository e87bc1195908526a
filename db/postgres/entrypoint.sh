#!/bin/bash
# Initialise the cluster on first start (user, database, INIT_SQL); on a later start with
# POSTGRES_PASSWORD_SYNC=1 set the user's password to POSTGRES_PASSWORD; then run postgres in the foreground
# with pg_stat_statements preloaded and whatever -c settings the stack passes as arguments.
set -euo pipefail

: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
         --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  # Only this machine reaches the database (the stack binds 127.0.0.1); still require passwords.
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n' \
    > "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c shared_preload_libraries=pg_stat_statements" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
  if [ -n "${INIT_SQL:-}" ]; then
    psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$INIT_SQL"
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
elif [ "${POSTGRES_PASSWORD_SYNC:-}" = 1 ]; then
  # A cluster kept in a volume (the metrics database's run history) was initialised with the password of
  # its first start; the stack's password may since have changed (another checkout, a new secret). The
  # environment's password wins: set in single-user mode, before the server listens.
  q="'" dq='"'
  printf "ALTER ROLE %s PASSWORD %s\n" "$dq${POSTGRES_USER//$dq/$dq$dq}$dq" "$q${POSTGRES_PASSWORD//$q/$q$q}$q" \
    | postgres --single -D "$PGDATA" postgres >/dev/null
fi

exec postgres -D "$PGDATA" \
  -c listen_addresses="$LISTEN_ADDRESSES" -c port="$PGPORT" \
  -c shared_preload_libraries=pg_stat_statements \
  -c pg_stat_statements.track=all -c pg_stat_statements.max=10000 \
  "$@"
