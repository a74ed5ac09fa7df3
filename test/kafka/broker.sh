#!/usr/bin/env bash
# A real single-node Kafka broker (KRaft, broker+controller in one JVM) for the integration tests,
# without Docker: the jars come from Maven Central through test/kafka/pom.xml.
#
#   test/kafka/broker.sh fetch    copy the broker's jars into .kafka/lib-<version> (cached)
#   test/kafka/broker.sh start    fetch, format a fresh data dir, start, wait until ready, print the bootstrap address
#   test/kafka/broker.sh stop     SIGTERM, then SIGKILL after 10 s
#   test/kafka/broker.sh status   print the bootstrap address and exit 0 when running, exit 3 when not
#
# Settings (environment): DX_KAFKA_VERSION (4.1.1), DX_KAFKA_PORT (19092), DX_KAFKA_CONTROLLER_PORT
# (port + 1), DX_KAFKA_HEAP (512m), DX_KAFKA_READY_TIMEOUT_S (90), DX_KAFKA_KEEP_DATA (set to 1 to
# restart on the data of the previous run instead of a fresh directory, as after a crash),
# DX_KAFKA_SASL (set to 1: clients must authenticate on the port with SASL, SCRAM-SHA-256/512 as
# user dx with password dx-scram-secret, or PLAIN as dx-plain / dx-plain-secret; the broker's own
# plaintext listener moves to port + 2), DX_KAFKA_TLS (set to 1: the port speaks TLS with a
# certificate for 127.0.0.1 signed by a CA made for the run, and requires a client certificate
# signed by it; the PEM files are in .kafka/run-<port>/tls/: ca.pem, client.pem, client.key; the
# broker's own plaintext listener moves to port + 2).
#
# Invariants: everything lives under .kafka/ (git-ignored); `start` and `fetch` hold a lock so that
# concurrent test processes cannot start two brokers or interleave a download; `start` on a running
# broker only re-checks readiness; a start always begins from an empty data directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="${DX_KAFKA_VERSION:-4.1.1}"
PORT="${DX_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${DX_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP="${DX_KAFKA_HEAP:-512m}"
READY_TIMEOUT_S="${DX_KAFKA_READY_TIMEOUT_S:-90}"
STATE="$ROOT/.kafka"
LIB="$STATE/lib-$VERSION"
RUN="$STATE/run-$PORT"
PID_FILE="$RUN/broker.pid"
BOOTSTRAP="127.0.0.1:$PORT"
SASL="${DX_KAFKA_SASL:-0}"
INTERNAL_PORT=$((PORT + 2))
# Readiness is checked where no credentials are needed.
READY_BOOTSTRAP="$BOOTSTRAP"
TLS="${DX_KAFKA_TLS:-0}"
[[ "$SASL" == 1 && "$TLS" == 1 ]] && { echo '[broker.sh] DX_KAFKA_SASL and DX_KAFKA_TLS are separate modes' >&2; exit 2; }
[[ "$SASL" == 1 || "$TLS" == 1 ]] && READY_BOOTSTRAP="127.0.0.1:$INTERNAL_PORT"
JVM_OPTS=(-Xms128m "-Xmx$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$ROOT/test/kafka/log4j2.properties")

log() { printf '[broker.sh] %s\n' "$*" >&2; }

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  # The pid must still be this broker: after a reboot the number may belong to another process.
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $RUN/" || return 1
  echo "$pid"
}

fetch() {
  mkdir -p "$STATE"
  exec 8>"$STATE/fetch.lock"
  flock 8
  if [[ -f "$LIB/.complete" ]]; then
    log "jars of Kafka $VERSION already in $LIB"
    return
  fi
  local started=$SECONDS
  rm -rf "$LIB.partial"
  log "fetching Kafka $VERSION jars with Maven into $LIB"
  mvn -B -q -Dstyle.color=never -f "$ROOT/test/kafka/pom.xml" "-Dkafka.version=$VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime "-DoutputDirectory=$LIB.partial" >&2
  [[ -f "$LIB.partial/kafka_2.13-$VERSION.jar" ]] || { log "Maven did not produce kafka_2.13-$VERSION.jar"; exit 1; }
  touch "$LIB.partial/.complete"
  rm -rf "$LIB"
  mv "$LIB.partial" "$LIB"
  log "fetched in $((SECONDS - started)) s"
}

write_properties() {
  cat >"$RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BOOTSTRAP
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$RUN/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
log.cleaner.dedupe.buffer.size=8388608
EOF
  if [[ "$SASL" == 1 ]]; then
    sed -i -e '/^listeners=/d' -e '/^advertised.listeners=/d' -e '/^inter.broker.listener.name=/d' -e '/^listener.security.protocol.map=/d' "$RUN/server.properties"
    cat >>"$RUN/server.properties" <<EOF
listeners=SASL_PLAINTEXT://127.0.0.1:$PORT,INTERNAL://127.0.0.1:$INTERNAL_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$BOOTSTRAP,INTERNAL://127.0.0.1:$INTERNAL_PORT
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_dx-plain="dx-plain-secret";
EOF
  fi
  if [[ "$TLS" == 1 ]]; then
    make_certificates
    sed -i -e '/^listeners=/d' -e '/^advertised.listeners=/d' -e '/^inter.broker.listener.name=/d' -e '/^listener.security.protocol.map=/d' "$RUN/server.properties"
    cat >>"$RUN/server.properties" <<EOF
listeners=SSL://127.0.0.1:$PORT,INTERNAL://127.0.0.1:$INTERNAL_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SSL://$BOOTSTRAP,INTERNAL://127.0.0.1:$INTERNAL_PORT
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=SSL:SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$RUN/tls/server-keystore.pem
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$RUN/tls/ca.pem
listener.name.ssl.ssl.client.auth=required
EOF
  fi
}

# A CA of the run's own, a server certificate for 127.0.0.1 and a client certificate, all signed by
# it (PEM; the broker's keystore is its key and certificate in one file).
make_certificates() {
  local tls="$RUN/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=dx-test-ca' -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  for who in server client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=dx-test-$who" -keyout "$tls/$who.key" -out "$tls/$who.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/$who.ext"
    openssl x509 -req -in "$tls/$who.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 -extfile "$tls/$who.ext" -out "$tls/$who.pem" 2>/dev/null
  done
  # Kafka reads an unencrypted PKCS#8 key followed by the certificate.
  openssl pkcs8 -topk8 -nocrypt -in "$tls/server.key" >"$tls/server-keystore.pem"
  cat "$tls/server.pem" >>"$tls/server-keystore.pem"
  chmod 600 "$tls"/*.key "$tls/server-keystore.pem"
}

wait_ready() {
  node "$ROOT/test/kafka/ready.mjs" "$READY_BOOTSTRAP" "$READY_TIMEOUT_S" || {
    log "broker not ready; last lines of $RUN/broker.log:"
    tail -n 30 "$RUN/broker.log" >&2 || true
    return 1
  }
}

start() {
  mkdir -p "$STATE"
  exec 9>"$STATE/start-$PORT.lock"
  flock 9
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
    wait_ready
    echo "$BOOTSTRAP"
    return
  fi
  fetch
  local started=$SECONDS
  if [[ "${DX_KAFKA_KEEP_DATA:-0}" == 1 && -f "$RUN/data/meta.properties" ]]; then
    log "restarting on the existing data in $RUN/data"
  else
    rm -rf "$RUN"
    mkdir -p "$RUN/data"
    write_properties
    local cluster_id
    # --cluster-id=<id>: an id may start with '-' (base64url), which would otherwise read as a flag.
    cluster_id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    local scram=()
    [[ "$SASL" == 1 ]] && scram=(--add-scram 'SCRAM-SHA-256=[name=dx,password=dx-scram-secret]' --add-scram 'SCRAM-SHA-512=[name=dx,password=dx-scram-secret]')
    java "${JVM_OPTS[@]}" -cp "$LIB/*" kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$RUN/server.properties" "${scram[@]}" >"$RUN/format.log" 2>&1 || {
      log "format failed:"
      cat "$RUN/format.log" >&2
      exit 1
    }
  fi
  # setsid and redirected stdio: the broker outlives the test process that started it and holds
  # none of its pipes open; the lock descriptors are closed so the broker does not keep the locks.
  setsid nohup java "${JVM_OPTS[@]}" -cp "$LIB/*" kafka.Kafka "$RUN/server.properties" \
    >"$RUN/broker.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$PID_FILE"
  if ! wait_ready; then
    stop_broker
    exit 1
  fi
  log "started in $((SECONDS - started)) s (pid $(cat "$PID_FILE"))"
  echo "$BOOTSTRAP"
}

stop_broker() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    rm -f "$PID_FILE"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

status() {
  if pid="$(running_pid)"; then
    log "running (pid $pid)"
    echo "$BOOTSTRAP"
  else
    log "not running"
    exit 3
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_broker ;;
  status) status ;;
  *)
    echo "usage: $0 fetch|start|stop|status" >&2
    exit 2
    ;;
esac
