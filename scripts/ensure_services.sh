#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer at their default local addresses, starting them
# where they are installed but stopped. Exits non-zero, saying what is missing, otherwise.
set -u
status=0

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  :
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  echo "PostgreSQL is stopped: starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start on 127.0.0.1:5432"; status=1; }
else
  echo "PostgreSQL is not installed: the suite needs it on 127.0.0.1:5432 (user postgres, trust auth)."
  echo "  Debian: apt-get install postgresql   or run: docker compose up -d postgres"
  status=1
fi

if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  :
elif command -v redis-server >/dev/null 2>&1; then
  echo "Redis is stopped: starting it"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { echo "Redis did not start on 127.0.0.1:6379"; status=1; }
else
  echo "Redis is not installed: the suite needs it on 127.0.0.1:6379."
  echo "  Debian: apt-get install redis-server   or run: docker compose up -d redis"
  status=1
fi
exit $status
