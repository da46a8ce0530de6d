#!/usr/bin/env bash
# Local ClickHouse for iwom's demo and tests.
#   test/clickhouse.sh install   install clickhouse-server/-client when missing (Debian/Ubuntu, as root)
#   test/clickhouse.sh start     make sure a ClickHouse answers on $IWOM_CH_PORT (default 9000):
#                                use a running one, else start a private server under $IWOM_CH_DIR
#   test/clickhouse.sh stop      stop the private server started by `start`
set -euo pipefail
. "$(dirname "$0")/apt.sh"

PORT=${IWOM_CH_PORT:-9000}
HTTP_PORT=${IWOM_CH_HTTP_PORT:-8123}
DIR=${IWOM_CH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/iwom/clickhouse}

have_server() { command -v clickhouse-server >/dev/null 2>&1 || command -v clickhouse >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  if have_server; then return 0; fi
  echo "clickhouse-server is missing: installing Debian's clickhouse-server and clickhouse-client" >&2
  apt_install "ClickHouse (or run one on port $PORT)" clickhouse-server clickhouse-client
  have_server
}

start() {
  if port_open "$PORT"; then
    echo "ClickHouse already answers on 127.0.0.1:$PORT" >&2
    return 0
  fi
  if ! have_server && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "starting ClickHouse with docker compose" >&2
    docker compose up -d clickhouse
  else
    install
    local bin args
    if command -v clickhouse-server >/dev/null 2>&1; then bin=$(command -v clickhouse-server); args=(); else bin=$(command -v clickhouse); args=(server); fi
    mkdir -p "$DIR"/{data,tmp,user_files,format_schemas,log}
    cat > "$DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$DIR/log/server.log</log><errorlog>$DIR/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <http_port>$HTTP_PORT</http_port>
  <tcp_port>$PORT</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$DIR/data/</path>
  <tmp_path>$DIR/tmp/</tmp_path>
  <user_files_path>$DIR/user_files/</user_files_path>
  <format_schema_path>$DIR/format_schemas/</format_schema_path>
  <users_config>$DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
    cat > "$DIR/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default></default><readonly><readonly>1</readonly></readonly></profiles>
  <users><default><password></password><networks><ip>::1</ip><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
    echo "starting a private clickhouse-server on 127.0.0.1:$PORT (data in $DIR)" >&2
    setsid nohup "$bin" "${args[@]}" --config-file="$DIR/config.xml" >"$DIR/log/stdout.log" 2>&1 < /dev/null &
    echo $! > "$DIR/server.pid"
  fi
  for _ in $(seq 1 120); do
    if port_open "$PORT"; then return 0; fi
    sleep 0.5
  done
  echo "ClickHouse did not come up on port $PORT; see $DIR/log/" >&2
  tail -n 20 "$DIR/log/error.log" 2>/dev/null >&2 || true
  exit 1
}

stop() {
  if [ -f "$DIR/server.pid" ]; then
    kill "$(cat "$DIR/server.pid")" 2>/dev/null || true
    rm -f "$DIR/server.pid"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
