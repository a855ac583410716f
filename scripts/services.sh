#!/usr/bin/env bash
# Start, stop and inspect throw-away test servers (PostgreSQL, MariaDB, Redis).
#
# Usage:
#   scripts/services.sh start  [postgres|mariadb|redis|all]...   (default: all)
#   scripts/services.sh stop   [postgres|mariadb|redis|all]...   (default: all)
#   scripts/services.sh restart [postgres|mariadb|redis|all]...
#   scripts/services.sh status [postgres|mariadb|redis|all]...   (exit 3 if one is down)
#   scripts/services.sh env                                       (eval "$(... env)")
#
# Every server gets its own data directory, port, socket, pid file and logs under
# the state directory ${DATAASK_SERVICES_DIR:-/tmp/dataask-services}. System-wide
# instances (port 5432/3306/6379, /var/lib/...) are never touched. As root the
# servers run as the system user `dataask-ci` (created when missing); otherwise
# as the current user.
#
# Settings (environment):
#   DATAASK_SERVICES_DIR      state directory            (/tmp/dataask-services)
#   DATAASK_PG_PORT           PostgreSQL port            (55432)
#   DATAASK_MYSQL_PORT        MariaDB port               (53306)
#   DATAASK_REDIS_PORT        Redis port                 (56379)
#   DATAASK_SERVICES_TIMEOUT  seconds to wait for a server to accept connections (60)
#   DATAASK_SERVICES_USER     service user when run as root (dataask-ci)
#   DATAASK_PG_BINDIR         directory holding initdb/pg_ctl/postgres (searched if unset)
#
# Exit codes: 0 ok, 1 error, 2 usage, 3 `status` found a server down,
# 69 server binaries missing (the message names the Debian package).
set -Eeuo pipefail
umask 022
trap 'printf "services: ERROR: unexpected failure (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

STATE_DIR="${DATAASK_SERVICES_DIR:-/tmp/dataask-services}"
case "$STATE_DIR" in /*) ;; *) STATE_DIR="$PWD/$STATE_DIR" ;; esac
STATE_DIR="${STATE_DIR%/}"
PG_PORT="${DATAASK_PG_PORT:-55432}"
MY_PORT="${DATAASK_MYSQL_PORT:-53306}"
REDIS_PORT="${DATAASK_REDIS_PORT:-56379}"
TIMEOUT="${DATAASK_SERVICES_TIMEOUT:-60}"

DB_USER=dataask
DB_PASSWORD=dataask-test-pw
DB_NAME=dataask_test
EX_MISSING=69
ALL_SERVICES=(postgres mariadb redis)

PG_DIR="$STATE_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgresql.log"
MY_DIR="$STATE_DIR/mariadb"
MY_DATA="$MY_DIR/data"
MY_CNF="$MY_DIR/my.cnf"
MY_SOCK="$MY_DIR/mariadb.sock"
MY_PID="$MY_DIR/mariadb.pid"
MY_ERRLOG="$MY_DIR/error.log"
MY_GENLOG="$MY_DIR/general.log"
REDIS_DIR="$STATE_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

if [[ $(id -u) -eq 0 ]]; then
  IS_ROOT=1
  SVC_USER="${DATAASK_SERVICES_USER:-dataask-ci}"
else
  IS_ROOT=0
  SVC_USER="$(id -un)"
fi

# ---------------------------------------------------------------- helpers
log() { printf 'services: %s\n' "$*" >&2; }

die() { # die [code] message
  local code=1
  if [[ $# -gt 1 ]]; then code=$1; shift; fi
  printf 'services: ERROR: %s\n' "$*" >&2
  exit "$code"
}

die_with_log() { # die_with_log logfile message
  local file=$1; shift
  printf 'services: ERROR: %s\n' "$*" >&2
  if [[ -f $file ]]; then
    printf 'services: ---- last lines of %s ----\n' "$file" >&2
    tail -n 40 "$file" >&2 || true
    printf 'services: ---- end of %s ----\n' "$file" >&2
  fi
  exit 1
}

missing() { # missing service apt-package what
  die "$EX_MISSING" "$1: $3 not found. Install the Debian package: apt-get install $2"
}

# Run a command as the service user, from the state directory, with HOME there.
# fd 9 (our lock) is closed so that a server started here never inherits the lock.
as_svc() {
  if [[ $IS_ROOT -eq 1 ]]; then
    if command -v runuser >/dev/null 2>&1; then
      (cd "$STATE_DIR" && runuser -u "$SVC_USER" -- env HOME="$STATE_DIR" "$@") 9>&-
    else
      (cd "$STATE_DIR" && su -s /bin/sh "$SVC_USER" -c "$(printf '%q ' env HOME="$STATE_DIR" "$@")") 9>&-
    fi
  else
    (cd "$STATE_DIR" && env HOME="$STATE_DIR" "$@") 9>&-
  fi
}

ensure_svc_user() {
  [[ $IS_ROOT -eq 1 ]] || return 0
  id -u "$SVC_USER" >/dev/null 2>&1 && return 0
  log "creating system user $SVC_USER"
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$SVC_USER" ||
    id -u "$SVC_USER" >/dev/null 2>&1 || die "could not create user $SVC_USER"
}

# Create the state directory and take the lock that serialises start/stop.
prepare_state_dir() {
  mkdir -p "$STATE_DIR" 2>/dev/null || die "cannot create state dir $STATE_DIR (set DATAASK_SERVICES_DIR)"
  [[ -w $STATE_DIR ]] || die "state dir $STATE_DIR is not writable by $(id -un) (set DATAASK_SERVICES_DIR)"
  exec 9>>"$STATE_DIR/.lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 600 9 || die "timed out waiting for the lock $STATE_DIR/.lock"
  fi
  ensure_svc_user
  if [[ $IS_ROOT -eq 1 ]]; then
    chown "$SVC_USER:" "$STATE_DIR"
    chmod 0755 "$STATE_DIR"
    as_svc test -w "$STATE_DIR" ||
      die "user $SVC_USER cannot write $STATE_DIR (is a parent directory closed?); set DATAASK_SERVICES_DIR"
  fi
}

# A directory for one server, owned by the service user.
svc_dir() {
  mkdir -p "$1"
  if [[ $IS_ROOT -eq 1 && $(stat -c %U "$1") != "$SVC_USER" ]]; then
    chown -R "$SVC_USER:" "$1"
  fi
}

# Create files (logs the server re-opens itself) owned by the service user.
svc_files() {
  touch "$@"
  [[ $IS_ROOT -eq 0 ]] || chown "$SVC_USER:" "$@"
}

# True for a live process; a zombie (killed, not yet reaped) counts as gone.
# tests/services.py marks a server it started with leases/<svc>.started; a server started or
# stopped here is no longer that instance.
forget_pytest_start() { rm -f "$STATE_DIR/leases/$1.started"; }

pid_alive() {
  [[ -n ${1:-} && $1 =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# True when the process was started from (or points into) our state directory.
pid_is_ours() {
  local pid=$1 cwd cmd
  pid_alive "$pid" || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ $cwd == "$STATE_DIR" || $cwd == "$STATE_DIR"/* || $cmd == *"$STATE_DIR"* ]]
}

read_pidfile() { [[ -r $1 ]] && head -n 1 "$1" | tr -dc '0-9' || true; }

# PIDs of processes listening on TCP port $1 (any local address).
port_pids() {
  local hex inode
  hex=$(printf '%04X' "$1")
  for inode in $(awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u); do
    find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$inode\\]" 2>/dev/null | cut -d/ -f3 || true
  done | sort -u
}

port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

wait_gone() { # wait_gone pid seconds
  local pid=$1 end=$((SECONDS + $2))
  while pid_alive "$pid"; do
    [[ $SECONDS -lt $end ]] || return 1
    sleep 0.1
  done
}

terminate() { # terminate pid signal
  kill "-$2" "$1" 2>/dev/null || true
  wait_gone "$1" "$TIMEOUT" && return 0
  log "pid $1 did not exit after SIG$2; sending SIGKILL"
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1" 10 || die "could not stop pid $1"
}

# Make sure nothing holds the port; a leftover server of ours is stopped, anything else is an error.
free_port() { # free_port port service signal env-var
  local port=$1 name=$2 sig=$3 var=$4 pid
  port_in_use "$port" || return 0
  local pids
  pids=$(port_pids "$port")
  [[ -n $pids ]] || die "$name: port $port is in use by a process this user cannot see; set $var to another port"
  for pid in $pids; do
    if pid_is_ours "$pid"; then
      log "$name: stopping leftover server pid $pid on port $port"
      terminate "$pid" "$sig"
    else
      die "$name: port $port is in use by pid $pid ($(tr -s '\0 ' '  ' <"/proc/$pid/cmdline" 2>/dev/null || echo '?')); set $var to another port"
    fi
  done
  local end=$((SECONDS + 10))
  while port_in_use "$port"; do
    [[ $SECONDS -lt $end ]] || die "$name: port $port is still in use"
    sleep 0.1
  done
}

# ---------------------------------------------------------------- PostgreSQL
PG_BINDIR=""
find_pg() {
  local candidates=() c d
  [[ -n ${DATAASK_PG_BINDIR:-} ]] && candidates+=("$DATAASK_PG_BINDIR")
  if c=$(command -v pg_ctl 2>/dev/null); then candidates+=("$(dirname "$(readlink -f "$c")")"); fi
  candidates+=(/usr/lib/postgresql/15/bin)
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -rn); do candidates+=("$d"); done
  for d in "${candidates[@]}"; do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
      PG_BINDIR=$d
      return 0
    fi
  done
  return 1
}

pg_tool() { # path of a client tool, preferring the server's own bin dir
  if [[ -x $PG_BINDIR/$1 ]]; then echo "$PG_BINDIR/$1"; else command -v "$1"; fi
}

pg_pid() {
  local pid
  pid=$(read_pidfile "$PG_DATA/postmaster.pid")
  pid_is_ours "$pid" && echo "$pid"
}

pg_running() { [[ -n $(pg_pid || true) ]]; }

pg_ready() {
  local isready
  isready=$(pg_tool pg_isready) || return 1
  "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -t 2 >/dev/null 2>&1
}

pg_psql() { # pg_psql db sql  (local socket, trust auth, as the service user)
  as_svc "$(pg_tool psql)" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
    -U "$DB_USER" -d "$1" -c "$2"
}

pg_write_conf() {
  cat >"$PG_DATA/dataask.conf" <<EOF
# Written by scripts/services.sh on every start; do not edit.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 200
ssl = off
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_destination = 'stderr'
log_statement = 'all'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  [[ $IS_ROOT -eq 0 ]] || chown "$SVC_USER:" "$PG_DATA/dataask.conf"
}

pg_init() {
  local major have=""
  major=$("$PG_BINDIR/postgres" --version | awk '{ print $3 }')
  major=${major%%.*}
  [[ -f $PG_DATA/PG_VERSION ]] && have=$(cat "$PG_DATA/PG_VERSION")
  if [[ $have == "$major" ]]; then return 0; fi
  [[ -z $have ]] || log "postgres: data dir is from PostgreSQL $have, binaries are $major; re-creating it"
  rm -rf "$PG_DATA" "$PG_DIR/.initialized"
  log "postgres: initdb $PG_DATA"
  local pwfile="$PG_DIR/.pwfile"
  (umask 077 && printf '%s\n' "$DB_PASSWORD" >"$pwfile")
  [[ $IS_ROOT -eq 0 ]] || chown "$SVC_USER:" "$pwfile"
  if ! as_svc "$PG_BINDIR/initdb" -D "$PG_DATA" -U "$DB_USER" --pwfile="$pwfile" -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    die_with_log "$PG_DIR/initdb.log" "postgres: initdb failed"
  fi
  rm -f "$pwfile"
  printf "\n# DataAsk test settings\ninclude_if_exists = 'dataask.conf'\n" >>"$PG_DATA/postgresql.conf"
}

pg_start() {
  find_pg || missing postgres postgresql "server binaries (initdb, pg_ctl, postgres)"
  if pg_running; then
    if [[ $(cat "$PG_DIR/port" 2>/dev/null) == "$PG_PORT" ]]; then
      pg_wait_ready
      log "postgres: already running on port $PG_PORT"
      return 0
    fi
    log "postgres: running on another port; restarting on $PG_PORT"
    pg_stop
  fi
  svc_dir "$PG_DIR"
  forget_pytest_start postgres
  free_port "$PG_PORT" postgres INT DATAASK_PG_PORT
  pg_init
  # Lock files of a server that was killed (its pid dead, a zombie or reused) would stop
  # postgres from starting; nothing of ours is running here, so they are stale.
  rm -f "$PG_DATA/postmaster.pid" "$PG_DIR"/.s.PGSQL.*.lock
  pg_write_conf
  echo "$PG_PORT" >"$PG_DIR/port"
  svc_files "$PG_LOG"
  if ! as_svc "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" -s start >"$PG_DIR/pg_ctl.log" 2>&1; then
    cat "$PG_DIR/pg_ctl.log" >&2 || true
    die_with_log "$PG_LOG" "postgres: server did not start on 127.0.0.1:$PG_PORT"
  fi
  pg_wait_ready
  if [[ ! -f $PG_DIR/.initialized ]]; then
    if [[ $(pg_psql postgres "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") != 1 ]]; then
      pg_psql postgres "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
    fi
    pg_psql postgres "ALTER ROLE $DB_USER WITH SUPERUSER PASSWORD '$DB_PASSWORD'" >/dev/null
    touch "$PG_DIR/.initialized"
  fi
  log "postgres: running on 127.0.0.1:$PG_PORT (log $PG_LOG)"
}

pg_wait_ready() {
  local end=$((SECONDS + TIMEOUT))
  until pg_ready; do
    [[ $SECONDS -lt $end ]] || die_with_log "$PG_LOG" "postgres: not accepting connections on 127.0.0.1:$PG_PORT after ${TIMEOUT}s"
    sleep 0.2
  done
}

pg_stop() {
  find_pg || { log "postgres: binaries not found; nothing to stop"; return 0; }
  if ! pg_running; then
    log "postgres: not running"
    return 0
  fi
  if ! as_svc "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" -s stop; then
    log "postgres: fast shutdown failed; using immediate"
    as_svc "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m immediate -w -t "$TIMEOUT" -s stop ||
      die_with_log "$PG_LOG" "postgres: could not stop the server"
  fi
  forget_pytest_start postgres
  log "postgres: stopped"
}

pg_status() {
  find_pg || { echo "postgres: not installed (apt-get install postgresql)"; return 1; }
  if pg_running; then
    if pg_ready; then
      echo "postgres: running, pid $(pg_pid), 127.0.0.1:$PG_PORT"
      return 0
    fi
    echo "postgres: process up but not accepting connections on 127.0.0.1:$PG_PORT"
    return 1
  fi
  echo "postgres: stopped"
  return 1
}

# ---------------------------------------------------------------- MariaDB
MY_SERVER="" MY_INSTALL="" MY_CLIENT="" MY_ADMIN=""
find_mariadb() {
  local c
  for c in mariadbd /usr/sbin/mariadbd mysqld /usr/sbin/mysqld; do
    MY_SERVER=$(command -v "$c" 2>/dev/null) && break
  done
  for c in mariadb-install-db mysql_install_db; do
    MY_INSTALL=$(command -v "$c" 2>/dev/null) && break
  done
  for c in mariadb mysql; do
    MY_CLIENT=$(command -v "$c" 2>/dev/null) && break
  done
  for c in mariadb-admin mysqladmin; do
    MY_ADMIN=$(command -v "$c" 2>/dev/null) && break
  done
  [[ -n $MY_SERVER && -n $MY_INSTALL && -n $MY_CLIENT && -n $MY_ADMIN ]]
}

my_pid() {
  local pid
  pid=$(read_pidfile "$MY_PID")
  pid_is_ours "$pid" && echo "$pid"
}

my_running() { [[ -n $(my_pid || true) ]]; }

my_ready() {
  "$MY_ADMIN" --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MY_PORT" --connect-timeout=2 \
    -u "$DB_USER" "-p$DB_PASSWORD" ping >/dev/null 2>&1
}

my_write_cnf() {
  mkdir -p "$MY_DIR/tmp"
  cat >"$MY_CNF" <<EOF
# Written by scripts/services.sh on every start; do not edit.
[mariadbd]
datadir = $MY_DATA
socket = $MY_SOCK
pid-file = $MY_PID
port = $MY_PORT
bind-address = 127.0.0.1
tmpdir = $MY_DIR/tmp
log-error = $MY_ERRLOG
general_log = 1
general_log_file = $MY_GENLOG
log_output = FILE
skip-name-resolve
skip-log-bin
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
max_connections = 200
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 0
innodb_doublewrite = 0
innodb_use_native_aio = 0
sync_binlog = 0
EOF
  [[ $IS_ROOT -eq 0 ]] || chown -R "$SVC_USER:" "$MY_CNF" "$MY_DIR/tmp"
}

my_sql() { # admin SQL over the socket, as the service user (unix_socket auth)
  as_svc "$MY_CLIENT" --no-defaults --protocol=socket --socket="$MY_SOCK" -u "$SVC_USER" -N -B -e "$1"
}

my_start() {
  find_mariadb || missing mariadb "mariadb-server mariadb-client" "server/client binaries (mariadbd, mariadb-install-db, mariadb, mariadb-admin)"
  if my_running; then
    if [[ $(cat "$MY_DIR/port" 2>/dev/null) == "$MY_PORT" ]]; then
      my_wait_ready "$(my_pid)"
      log "mariadb: already running on port $MY_PORT"
      return 0
    fi
    log "mariadb: running on another port; restarting on $MY_PORT"
    my_stop
  fi
  svc_dir "$MY_DIR"
  forget_pytest_start mariadb
  free_port "$MY_PORT" mariadb TERM DATAASK_MYSQL_PORT
  rm -f "$MY_PID" "$MY_SOCK" "$MY_SOCK.lock"
  my_write_cnf
  if [[ ! -d $MY_DATA/mysql ]]; then
    rm -rf "$MY_DATA" "$MY_DIR/.initialized"
    log "mariadb: installing system tables in $MY_DATA"
    # Not root: the admin account is `$SVC_USER`@localhost with unix_socket auth, so only
    # this OS user (or root via runuser) can administer the server; no password exists.
    if ! as_svc "$MY_INSTALL" --defaults-file="$MY_CNF" --auth-root-authentication-method=socket \
      --auth-root-socket-user="$SVC_USER" --skip-test-db >"$MY_DIR/install.log" 2>&1; then
      die_with_log "$MY_DIR/install.log" "mariadb: mariadb-install-db failed"
    fi
  fi
  echo "$MY_PORT" >"$MY_DIR/port"
  # Detach fully (setsid -f: new session, the launcher returns at once) with all output in the
  # error log, so the server never holds the caller's terminal, pipes or process group.
  rm -f "$MY_DIR/launch.pid"
  svc_files "$MY_ERRLOG" "$MY_GENLOG"
  as_svc setsid -f sh -c 'echo $$ >"$1" && exec "$2" --defaults-file="$3"' sh \
    "$MY_DIR/launch.pid" "$MY_SERVER" "$MY_CNF" </dev/null >>"$MY_ERRLOG" 2>&1 ||
    die_with_log "$MY_ERRLOG" "mariadb: could not launch $MY_SERVER"
  local end=$((SECONDS + TIMEOUT)) pid=""
  until [[ -n $pid ]]; do
    pid=$(read_pidfile "$MY_DIR/launch.pid")
    [[ $SECONDS -lt $end ]] || die_with_log "$MY_ERRLOG" "mariadb: the server process did not start"
    [[ -n $pid ]] || sleep 0.05
  done
  until [[ -S $MY_SOCK ]] &&
    "$MY_ADMIN" --no-defaults --protocol=socket --socket="$MY_SOCK" --connect-timeout=2 ping >/dev/null 2>&1; do
    pid_alive "$pid" || die_with_log "$MY_ERRLOG" "mariadb: server exited during start-up"
    [[ $SECONDS -lt $end ]] || die_with_log "$MY_ERRLOG" "mariadb: not accepting connections after ${TIMEOUT}s"
    sleep 0.2
  done
  if [[ ! -f $MY_DIR/.initialized ]]; then
    local host
    host=$(hostname 2>/dev/null || echo localhost)
    my_sql "
      CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4;
      CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASSWORD';
      CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
      ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$DB_PASSWORD';
      ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
      GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'%', '$DB_USER'@'localhost';
      GRANT ALL PRIVILEGES ON \`dataask\\_test\\_%\`.* TO '$DB_USER'@'%', '$DB_USER'@'localhost';
      DROP USER IF EXISTS ''@'localhost';
      DROP USER IF EXISTS ''@'$host';
      FLUSH PRIVILEGES;" >/dev/null || die_with_log "$MY_ERRLOG" "mariadb: creating user/database failed"
    touch "$MY_DIR/.initialized"
  fi
  my_wait_ready "$pid"
  log "mariadb: running on 127.0.0.1:$MY_PORT (general log $MY_GENLOG)"
}

my_wait_ready() { # checks the real login over TCP
  local pid=$1 end=$((SECONDS + TIMEOUT))
  until my_ready; do
    pid_alive "$pid" || die_with_log "$MY_ERRLOG" "mariadb: server exited"
    [[ $SECONDS -lt $end ]] || die_with_log "$MY_ERRLOG" "mariadb: user $DB_USER cannot log in on 127.0.0.1:$MY_PORT after ${TIMEOUT}s"
    sleep 0.2
  done
}

my_stop() {
  local pid
  pid=$(my_pid || true)
  if [[ -z $pid ]]; then
    log "mariadb: not running"
    return 0
  fi
  terminate "$pid" TERM
  rm -f "$MY_PID"
  forget_pytest_start mariadb
  log "mariadb: stopped"
}

my_status() {
  find_mariadb || { echo "mariadb: not installed (apt-get install mariadb-server mariadb-client)"; return 1; }
  local pid
  pid=$(my_pid || true)
  if [[ -n $pid ]]; then
    if my_ready; then
      echo "mariadb: running, pid $pid, 127.0.0.1:$MY_PORT"
      return 0
    fi
    echo "mariadb: process $pid up but $DB_USER cannot log in on 127.0.0.1:$MY_PORT"
    return 1
  fi
  echo "mariadb: stopped"
  return 1
}

# ---------------------------------------------------------------- Redis
REDIS_SERVER=""
find_redis() { REDIS_SERVER=$(command -v redis-server 2>/dev/null); }

redis_pid() {
  local pid
  pid=$(read_pidfile "$REDIS_PID")
  pid_is_ours "$pid" && echo "$pid"
}

redis_running() { [[ -n $(redis_pid || true) ]]; }

redis_ready() {
  local reply=""
  if command -v redis-cli >/dev/null 2>&1; then
    reply=$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null || true)
    [[ $reply == PONG ]]
  else
    reply=$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "PING\r\n" >&3 && head -c 7 <&3' \
      "$REDIS_PORT" 2>/dev/null || true)
    [[ $reply == +PONG* ]]
  fi
}

redis_start() {
  find_redis || missing redis redis-server "redis-server"
  if redis_running; then
    if [[ $(cat "$REDIS_DIR/port" 2>/dev/null) == "$REDIS_PORT" ]]; then
      redis_wait_ready
      log "redis: already running on port $REDIS_PORT"
      return 0
    fi
    log "redis: running on another port; restarting on $REDIS_PORT"
    redis_stop
  fi
  svc_dir "$REDIS_DIR"
  forget_pytest_start redis
  free_port "$REDIS_PORT" redis TERM DATAASK_REDIS_PORT
  rm -f "$REDIS_PID"
  cat >"$REDIS_CONF" <<EOF
# Written by scripts/services.sh on every start; do not edit.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile "$REDIS_PID"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
save ""
appendonly no
# Show the config path in ps/proc cmdline so a leftover server is recognisable as ours.
proc-title-template "{title} {listen-addr} {server-mode} {config-file}"
EOF
  [[ $IS_ROOT -eq 0 ]] || chown "$SVC_USER:" "$REDIS_CONF"
  echo "$REDIS_PORT" >"$REDIS_DIR/port"
  svc_files "$REDIS_LOG"
  as_svc "$REDIS_SERVER" "$REDIS_CONF" </dev/null >>"$REDIS_LOG" 2>&1 ||
    die_with_log "$REDIS_LOG" "redis: redis-server failed to start"
  redis_wait_ready
  log "redis: running on 127.0.0.1:$REDIS_PORT"
}

redis_wait_ready() {
  local end=$((SECONDS + TIMEOUT))
  until redis_ready; do
    [[ $SECONDS -lt $end ]] || die_with_log "$REDIS_LOG" "redis: no PONG on 127.0.0.1:$REDIS_PORT after ${TIMEOUT}s"
    sleep 0.1
  done
}

redis_stop() {
  local pid
  pid=$(redis_pid || true)
  if [[ -z $pid ]]; then
    log "redis: not running"
    return 0
  fi
  terminate "$pid" TERM
  rm -f "$REDIS_PID"
  forget_pytest_start redis
  log "redis: stopped"
}

redis_status() {
  find_redis || { echo "redis: not installed (apt-get install redis-server)"; return 1; }
  local pid
  pid=$(redis_pid || true)
  if [[ -n $pid ]]; then
    if redis_ready; then
      echo "redis: running, pid $pid, 127.0.0.1:$REDIS_PORT"
      return 0
    fi
    echo "redis: process $pid up but no PONG on 127.0.0.1:$REDIS_PORT"
    return 1
  fi
  echo "redis: stopped"
  return 1
}

# ---------------------------------------------------------------- commands
fn_prefix() {
  case "$1" in
    postgres) echo pg ;;
    mariadb) echo my ;;
    redis) echo redis ;;
  esac
}

# Expand the service arguments (default all) into SERVICES=(...).
parse_services() {
  SERVICES=()
  local s
  [[ $# -gt 0 ]] || set -- all
  for s in "$@"; do
    case "$s" in
      all) SERVICES+=("${ALL_SERVICES[@]}") ;;
      postgres | postgresql | pg) SERVICES+=(postgres) ;;
      mariadb | mysql) SERVICES+=(mariadb) ;;
      redis) SERVICES+=(redis) ;;
      *) die 2 "unknown service '$s' (postgres, mariadb, redis, all)" ;;
    esac
  done
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

cmd_env() {
  echo "export DATAASK_SERVICES_DIR=$(q "$STATE_DIR")"
  echo "export DATAASK_PG_PORT=$PG_PORT"
  echo "export DATAASK_MYSQL_PORT=$MY_PORT"
  echo "export DATAASK_REDIS_PORT=$REDIS_PORT"
  echo "export DATAASK_TEST_PG_URL=postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
  echo "export DATAASK_TEST_MYSQL_URL=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$MY_PORT/$DB_NAME"
  echo "export DATAASK_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  echo "export DATAASK_TEST_PG_LOG=$(q "$PG_LOG")"
  echo "export DATAASK_TEST_MYSQL_LOG=$(q "$MY_GENLOG")"
}

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [[ $# -gt 0 ]] || usage
  local cmd=$1 s rc=0
  shift
  case "$cmd" in
    start | stop)
      parse_services "$@"
      prepare_state_dir
      for s in "${SERVICES[@]}"; do
        if [[ $cmd == start ]]; then "$(fn_prefix "$s")_start"; else "$(fn_prefix "$s")_stop"; fi
      done
      ;;
    restart)
      parse_services "$@"
      prepare_state_dir
      for s in "${SERVICES[@]}"; do "$(fn_prefix "$s")_stop"; done
      for s in "${SERVICES[@]}"; do "$(fn_prefix "$s")_start"; done
      ;;
    status)
      parse_services "$@"
      if [[ ! -d $STATE_DIR ]]; then
        for s in "${SERVICES[@]}"; do echo "$s: stopped"; done
        exit 3
      fi
      for s in "${SERVICES[@]}"; do "$(fn_prefix "$s")_status" || rc=3; done
      exit "$rc"
      ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) die 2 "unknown command '$cmd' (start, stop, restart, status, env)" ;;
  esac
}

main "$@"
