#!/usr/bin/env bash
# The local Kafka broker: a real Apache Kafka (KRaft, single node) on loopback.
#
#   testbed/kafka.sh up       start, or reuse the running broker (no-op when up)
#   testbed/kafka.sh down     stop it and free its ports; keeps nothing
#   testbed/kafka.sh status   exit 0 when up
#
# Client listener SASL_PLAINTEXT with SCRAM-SHA-256 and SCRAM-SHA-512; StandardAuthorizer with
# allow.everyone.if.no.acl.found=false; an admin super user whose SCRAM credentials are written into
# the metadata log at storage-format time; auto topic creation off. The controller listener is
# PLAINTEXT on loopback only; the broker reaches it as User:ANONYMOUS, which is therefore a super
# user — nothing but this process can reach that port.
#
# State lives in $HTD_STATE/kafka (default .testbed/kafka): server.properties, the admin password
# (mode 0600, generated per broker), env (connection facts for tests), broker.log, pid.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
HTD_STATE=${HTD_STATE:-$root/.testbed}
KAFKA_PORT=${HTD_KAFKA_PORT:-39092}
CONTROLLER_PORT=${HTD_KAFKA_CONTROLLER_PORT:-39093}
dir="$HTD_STATE/kafka"
libs="$root/.tools/kafka/libs"
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
           "-Dlog4j2.configurationFile=$dir/log4j2.properties")

running() { [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

up() {
  if running; then echo "kafka: already up on 127.0.0.1:$KAFKA_PORT (pid $(cat "$dir/pid"))"; return 0; fi
  [[ -d "$libs" ]] || { echo "kafka: $libs missing; run: make toolchain" >&2; exit 1; }
  for p in "$KAFKA_PORT" "$CONTROLLER_PORT"; do
    if port_busy "$p"; then echo "kafka: port $p is in use by another process; set HTD_KAFKA_PORT/HTD_KAFKA_CONTROLLER_PORT" >&2; exit 1; fi
  done
  local t0; t0=$(date +%s%N)
  rm -rf "$dir"; mkdir -p "$dir/data"; chmod 700 "$dir"
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
listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$jaas
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$jaas
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
  setsid nohup java -cp "$libs/*" "${java_opts[@]}" kafka.Kafka "$dir/server.properties" \
    >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! > "$dir/pid"
  for _ in $(seq 1 300); do
    if grep -q 'Kafka Server started' "$dir/broker.log" 2>/dev/null && port_busy "$KAFKA_PORT"; then
      cat > "$dir/env" <<ENV
HTD_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
HTD_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
HTD_KAFKA_ADMIN_USER=admin
HTD_KAFKA_ADMIN_PASSWORD_FILE=$dir/admin.password
ENV
      echo "kafka: up on 127.0.0.1:$KAFKA_PORT in $(( ($(date +%s%N) - t0) / 1000000 )) ms (state: $dir)"
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
