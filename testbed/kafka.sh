#!/usr/bin/env bash
# The local Kafka broker: a real Apache Kafka (KRaft, single node) on loopback.
#
#   testbed/kafka.sh up       start, or reuse the running broker (no-op when up)
#   testbed/kafka.sh down     stop it and free its ports; keeps nothing
#   testbed/kafka.sh status   exit 0 when up
#
# Client listener SASL_PLAINTEXT (SASL_SSL on the real-node bed) with SCRAM-SHA-256 and
# SCRAM-SHA-512; StandardAuthorizer with allow.everyone.if.no.acl.found=false; an admin super user
# whose SCRAM credentials are written into the metadata log at storage-format time; auto topic
# creation off. The controller listener is PLAINTEXT on loopback only; the broker reaches it as
# User:ANONYMOUS, which is therefore a super user — nothing but this process can reach that port.
#
# State lives in $HTD_STATE/kafka (default .testbed/kafka): server.properties, the admin password
# (mode 0600, generated per broker), env (connection facts for tests), broker.log, pid.
#
# On the real-node bed, testbed/nodes.sh starts the broker inside the bed's network namespace, where
# the pods reach it: HTD_KAFKA_NETNS (the namespace), HTD_KAFKA_HOST (its address there) and
# HTD_KAFKA_TLS_CERT/_KEY/_CA (a server certificate from the bed's CA) make the client listener
# SASL_SSL, as Redpanda's is; the controller listener stays on the namespace's own loopback.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
HTD_STATE=${HTD_STATE:-$root/.testbed}
KAFKA_PORT=${HTD_KAFKA_PORT:-39092}
CONTROLLER_PORT=${HTD_KAFKA_CONTROLLER_PORT:-39093}
HOST=${HTD_KAFKA_HOST:-127.0.0.1}
TLS_CERT=${HTD_KAFKA_TLS_CERT:-} TLS_KEY=${HTD_KAFKA_TLS_KEY:-} TLS_CA=${HTD_KAFKA_TLS_CA:-}
ns=()   # the command prefix that enters the broker's network namespace (none: this one)
if [[ -n ${HTD_KAFKA_NETNS:-} ]]; then ns=(nsenter "--net=/run/netns/$HTD_KAFKA_NETNS"); fi
if [[ -n $TLS_CERT ]]; then PROTOCOL=SASL_SSL; else PROTOCOL=SASL_PLAINTEXT; fi
dir="$HTD_STATE/kafka"
libs="$root/.tools/kafka/libs"
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
           "-Dlog4j2.configurationFile=$dir/log4j2.properties")

running() { [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }
# port_busy PORT [HOST]: something listens there (seen from the broker's namespace).
port_busy() { "${ns[@]}" bash -c "exec 3<>/dev/tcp/${2:-127.0.0.1}/$1" 2>/dev/null; }

# The TLS side of a SASL_SSL listener: PEM files, the key unencrypted (mode 0600 in nodes' pki).
tls_properties() {
  cat <<TLS
ssl.keystore.type=PEM
ssl.keystore.location=$dir/server.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_CA
ssl.client.auth=none
TLS
}

up() {
  if running; then
    local at; at=$(sed -n 's/^HTD_KAFKA_BOOTSTRAP=//p' "$dir/env" 2>/dev/null)
    # A caller that names no address takes the running broker, wherever nodes.sh put it.
    if [[ -z ${HTD_KAFKA_HOST:-} || $at == "$HOST:$KAFKA_PORT" ]]; then
      echo "kafka: already up on $at (pid $(cat "$dir/pid"))"; return 0
    fi
    down   # up elsewhere: on loopback before the real-node bed came up
  fi
  [[ -d "$libs" ]] || { echo "kafka: $libs missing; run: make toolchain" >&2; exit 1; }
  for p in "$KAFKA_PORT" "$CONTROLLER_PORT"; do
    if port_busy "$p" "$HOST"; then echo "kafka: port $p is in use by another process; set HTD_KAFKA_PORT/HTD_KAFKA_CONTROLLER_PORT" >&2; exit 1; fi
  done
  local t0; t0=$(date +%s%N)
  rm -rf "$dir"; mkdir -p "$dir/data"; chmod 700 "$dir"
  if [[ $PROTOCOL == SASL_SSL ]]; then (umask 077; cat "$TLS_KEY" "$TLS_CERT" > "$dir/server.pem"); fi
  local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' )
  (umask 077; printf '%s' "$password" > "$dir/admin.password")
  cat > "$dir/log4j2.properties" <<LOG
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
LOG
  local jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$password\";"
  (umask 077; cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=$PROTOCOL://$HOST:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$PROTOCOL://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$PROTOCOL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$PROTOCOL:$PROTOCOL
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.${PROTOCOL,,}.scram-sha-256.sasl.jaas.config=$jaas
listener.name.${PROTOCOL,,}.scram-sha-512.sasl.jaas.config=$jaas
$(if [[ $PROTOCOL == SASL_SSL ]]; then tls_properties; fi)
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.dirs=$dir/data
PROPS
)
  local cluster_id; cluster_id=$(java -cp "$libs/*" "${java_opts[@]}" kafka.tools.StorageTool random-uuid)
  java -cp "$libs/*" "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=admin,password=$password]" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$password]" >/dev/null
  "${ns[@]}" setsid nohup java -cp "$libs/*" "${java_opts[@]}" kafka.Kafka "$dir/server.properties" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! > "$dir/pid"
  for _ in $(seq 1 300); do
    if grep -q 'Kafka Server started' "$dir/broker.log" 2>/dev/null && port_busy "$KAFKA_PORT" "$HOST"; then
      cat > "$dir/env" <<ENV
HTD_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT
HTD_KAFKA_SECURITY_PROTOCOL=$PROTOCOL
HTD_KAFKA_CA=$TLS_CA
HTD_KAFKA_ADMIN_USER=admin
HTD_KAFKA_ADMIN_PASSWORD_FILE=$dir/admin.password
ENV
      echo "kafka: up on $PROTOCOL://$HOST:$KAFKA_PORT in $(( ($(date +%s%N) - t0) / 1000000 )) ms (state: $dir)"
      return 0
    fi
    running || { echo "kafka: broker exited during start; last lines of $dir:" >&2; tail -20 "$dir/stdout.log" "$dir/broker.log" >&2 2>/dev/null; exit 1; }
    sleep 0.1
  done
  echo "kafka: not ready after 30 s; see $dir/broker.log" >&2; down; exit 1
}

down() {
  if running; then
    local pid; pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "kafka: stopped (pid $pid)"
  else
    echo "kafka: not running"
  fi
  for p in "$KAFKA_PORT" "$CONTROLLER_PORT"; do
    for _ in $(seq 1 50); do port_busy "$p" || break; sleep 0.1; done
  done
  rm -rf "$dir"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) running ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
