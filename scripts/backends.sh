#!/usr/bin/env bash
# Real backend servers for the Cinema test suite, installed and started by the project itself.
#
#   scripts/backends.sh up       install (cached), start, health-wait; prints `export CINEMA_TEST_...` lines
#   scripts/backends.sh down     stop every server and delete its data
#   scripts/backends.sh status   one line per server: name, port, pid, health (exit 1 if any is down)
#   scripts/backends.sh env      print the export lines (same as the tail of `up`)
#   scripts/backends.sh start NAME   start one server (postgres, redis, elasticsearch, ferretdb,
#                                    kafka), installing it first if not cached; ferretdb needs
#                                    this state's postgres running
#   scripts/backends.sh stop NAME    stop one server, keeping its data for the next `start NAME`
#
# A private instance for a fault drill, which may stop without touching the shared ones:
#   CINEMA_BACKENDS_STATE=/tmp/drill CINEMA_REDIS_PORT=46379 scripts/backends.sh start redis
#
# Typical use:   eval "$(scripts/backends.sh up)"   (progress goes to stderr, exports to stdout)
#
# Everything binds to 127.0.0.1. Downloads and builds live in $CINEMA_BACKENDS_CACHE
# (default ~/.cache/cinema-backends, outside the clone); data, logs and pid files live in
# $CINEMA_BACKENDS_STATE (default /tmp/cinema-backends), which `down` deletes.
set -Eeuo pipefail

CACHE=${CINEMA_BACKENDS_CACHE:-${HOME:-/root}/.cache/cinema-backends}
STATE=${CINEMA_BACKENDS_STATE:-/tmp/cinema-backends}
M2_REPO=${CINEMA_BACKENDS_M2:-$CACHE/m2}

PG_PORT=${CINEMA_PG_PORT:-55432}
REDIS_PORT=${CINEMA_REDIS_PORT:-56379}
ES_PORT=${CINEMA_ES_PORT:-59200}
# A range, as Elasticsearch's own default is: the node-to-node port is not one clients use, and a
# single port inside the ephemeral range can be held by some outgoing connection's local end
# (CI once failed to bind 59300 exactly so); the node binds the first free port of the range.
ES_TRANSPORT_PORT=${CINEMA_ES_TRANSPORT_PORT:-59300-59399}
MONGO_PORT=${CINEMA_MONGO_PORT:-57017}
KAFKA_PORT=${CINEMA_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${CINEMA_KAFKA_CONTROLLER_PORT:-59093}

ES_VERSION=${CINEMA_ES_VERSION:-8.19.21}
KAFKA_VERSION=${CINEMA_KAFKA_VERSION:-4.4.0}
LOG4J_VERSION=${CINEMA_LOG4J_VERSION:-2.25.5} # slf4j binding for Kafka's log output; matches Kafka 4.4's log4j-core
FERRETDB_VERSION=${CINEMA_FERRETDB_VERSION:-v1.24.2}
ES_HEAP=${CINEMA_ES_HEAP:-512m}
KAFKA_HEAP=${CINEMA_KAFKA_HEAP:-512m}
TIMEOUT=${CINEMA_BACKENDS_TIMEOUT:-180} # seconds, per server health wait
RUN_USER=${CINEMA_BACKENDS_USER:-cinema-backends} # unprivileged user for postgres/ES when run as root

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -d /usr/local/go/bin ]] && PATH=$PATH:/usr/local/go/bin

log() { printf '[backends] %s\n' "$*" >&2; }
die() {
    printf '[backends] ERROR: %s\n' "$*" >&2
    exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command as the unprivileged user (postgres and Elasticsearch refuse to run as root).
as_user() {
    if is_root; then
        runuser -u "$RUN_USER" -- "$@"
    else
        "$@"
    fi
}

own() { if is_root; then chown -R "$RUN_USER" "$@"; fi; }

# why_failed LOG: the lines of a failed start's log that name the cause (a Java stack trace's
# first lines and its "Caused by"s, error lines), then its tail.
why_failed() {
    grep -m 8 -E '(Exception|Error)[:[ ]|^Caused by|ERROR|FATAL|FAILED' "$1" 2>/dev/null | cut -c1-400 || true
    echo '...'
    tail -n 15 "$1" 2>/dev/null || true
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_of() { [[ -s $1 ]] && head -n1 "$1" | tr -dc '0-9'; }

pid_alive() {
    local pid
    pid=$(pid_of "$1") || return 1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# wait_healthy NAME LOGFILE PIDFILE CHECK_FUNCTION: poll until CHECK succeeds, the process dies, or TIMEOUT.
wait_healthy() {
    local name=$1 logfile=$2 pidfile=$3 check=$4 deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if "$check"; then
            return 0
        fi
        if [[ -n $pidfile ]] && [[ -e $pidfile ]] && ! pid_alive "$pidfile"; then
            die "$name failed to start: its process exited. Log: $logfile"$'\n'"$(why_failed "$logfile")"
        fi
        sleep 0.5
    done
    die "$name failed to become healthy within ${TIMEOUT}s (CINEMA_BACKENDS_TIMEOUT). Log: $logfile"$'\n'"$(why_failed "$logfile")"
}

# Start a long-running process detached from this shell, recording its pid. The pid file and
# log of an earlier start go first: a reboot leaves the pid of a dead process behind, and
# reading it before the new one is written would report the new server as exited.
spawn() {
    local pidfile=$1 logfile=$2
    shift 2
    rm -f "$pidfile"
    [[ -e $logfile ]] && mv -f "$logfile" "$logfile.previous"
    setsid sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    local i
    for i in $(seq 50); do [[ -s $pidfile ]] && return 0 || sleep 0.1; done
}

stop_pidfile() {
    local name=$1 pidfile=$2 pid i
    pid_alive "$pidfile" || return 0
    pid=$(pid_of "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || { log "$name stopped (pid $pid)"; return 0; }
        sleep 0.2
    done
    log "$name did not stop in 30s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- tools and packages
pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [[ -n $d && -x $d/postgres ]] && echo "$d"
}

java_home() {
    if [[ -n ${CINEMA_JAVA_HOME:-} ]]; then
        echo "$CINEMA_JAVA_HOME"
    elif [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME}/bin/java ]]; then
        echo "$JAVA_HOME"
    elif command -v java >/dev/null; then
        dirname "$(dirname "$(readlink -f "$(command -v java)")")"
    fi
}

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }

apt_install() {
    is_root || die "missing system packages: $* — install them (sudo apt-get install $*) or run this script as root"
    command -v apt-get >/dev/null || die "missing system packages: $* (and no apt-get to install them)"
    log "installing Debian packages: $*"
    # Don't let the packages' maintainer scripts start their own system-wide servers
    # (default cluster on 5432, redis on 6379): this script runs its own instances.
    local policy_added=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
    fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Options::=--force-confold "$@"; } >&2 || rc=$?
    ((policy_added)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || die "apt-get install $* failed"
}

ensure_packages() {
    local pkgs=()
    [[ -n $(pg_bindir) ]] || pkgs+=(postgresql)
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || pkgs+=(redis-server)
    command -v curl >/dev/null || pkgs+=(curl)
    command -v unzip >/dev/null || pkgs+=(unzip)
    command -v setsid >/dev/null || pkgs+=(util-linux)
    local jh
    jh=$(java_home)
    if [[ -z $jh ]] || (($(java_major "$jh") < 17)) || [[ ! -x $jh/bin/javac ]]; then pkgs+=(openjdk-17-jdk-headless); fi
    command -v mvn >/dev/null || pkgs+=(maven)
    ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
    command -v go >/dev/null || die "Go (>= 1.22) is needed to build FerretDB; install it (https://go.dev/dl) or put it on PATH"
    if is_root && ! id "$RUN_USER" >/dev/null 2>&1; then
        log "creating system user $RUN_USER (postgres and Elasticsearch refuse to run as root)"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_USER"
    fi
}

# Maven invocations share one local repository; serialise them.
mvn_copy_deps() { # POM_DIR OUT_DIR LOGFILE
    local pomdir=$1 out=$2 logfile=$3
    (
        flock 8
        mvn -B -q -f "$pomdir/pom.xml" -Dmaven.repo.local="$M2_REPO" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out"
    ) 8>"$CACHE/.mvn.lock" >>"$logfile" 2>&1
}

ensure_es() {
    local home=$CACHE/elasticsearch-$ES_VERSION logfile=$STATE/logs/install-elasticsearch.log
    [[ -f $home/.complete ]] && return 0
    log "fetching Elasticsearch $ES_VERSION (integ-test-zip) from Maven Central"
    local work=$CACHE/build/es-$ES_VERSION
    rm -rf "$work" "$home" && mkdir -p "$work"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>cinema.backends</groupId><artifactId>elasticsearch</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies><dependency>
    <groupId>org.elasticsearch.distribution.integ-test-zip</groupId><artifactId>elasticsearch</artifactId>
    <version>$ES_VERSION</version><type>zip</type>
  </dependency></dependencies>
</project>
EOF
    mvn_copy_deps "$work" "$work/out" "$logfile" || die "Elasticsearch download failed. Log: $logfile"
    unzip -q "$work/out/elasticsearch-$ES_VERSION.zip" -d "$work/unpacked" || die "unzip of Elasticsearch failed"
    mv "$work/unpacked/elasticsearch-$ES_VERSION" "$home"
    rm -rf "$work"
    touch "$home/.complete"
}

# integ-test-zip lacks the analysis-common module (mapping, asciifolding, stemmer, ...), which the
# catalog index settings need: build a small stand-in plugin (scripts/backends/es-analysis/)
# against the distribution's own jars, rebuilt whenever its source changes.
ensure_es_plugin() {
    local home=$CACHE/elasticsearch-$ES_VERSION src=$HERE/backends/es-analysis/CinemaAnalysisPlugin.java
    local plugdir=$home/plugins/cinema-analysis sum jh
    sum=$(sha256sum "$src" | cut -d' ' -f1)
    [[ -f $plugdir/.source-sha256 && $(cat "$plugdir/.source-sha256") == "$sum" ]] && return 0
    jh=$(java_home)
    [[ -x $jh/bin/javac ]] || die "javac not found in $jh: the Elasticsearch analysis plugin needs a JDK (apt-get install openjdk-17-jdk-headless)"
    log "building the cinema-analysis Elasticsearch plugin"
    local work=$CACHE/build/es-plugin
    rm -rf "$work" "$plugdir" && mkdir -p "$work/classes" "$plugdir"
    "$jh/bin/javac" --release 17 -nowarn -d "$work/classes" -cp "$home/lib/*" "$src" >"$STATE/logs/install-es-plugin.log" 2>&1 ||
        die "building the Elasticsearch analysis plugin failed. Log: $STATE/logs/install-es-plugin.log"
    "$jh/bin/jar" --create --file "$plugdir/cinema-analysis.jar" -C "$work/classes" .
    cat >"$plugdir/plugin-descriptor.properties" <<EOF
description=Stand-in for analysis-common: mapping char filter, asciifolding and stemmer token filters
version=$ES_VERSION
name=cinema-analysis
classname=cinema.esanalysis.CinemaAnalysisPlugin
java.version=17
elasticsearch.version=$ES_VERSION
EOF
    rm -rf "$work"
    echo "$sum" >"$plugdir/.source-sha256"
}

ensure_kafka() {
    local home=$CACHE/kafka-$KAFKA_VERSION logfile=$STATE/logs/install-kafka.log
    [[ -f $home/.complete ]] && return 0
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
    local work=$CACHE/build/kafka-$KAFKA_VERSION
    rm -rf "$work" "$home" && mkdir -p "$work"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>cinema.backends</groupId><artifactId>kafka</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    mvn_copy_deps "$work" "$home/libs" "$logfile" || die "Kafka download failed. Log: $logfile"
    rm -rf "$work"
    touch "$home/.complete"
}

ensure_ferretdb() {
    local home=$CACHE/ferretdb-$FERRETDB_VERSION logfile=$STATE/logs/install-ferretdb.log
    [[ -x $home/ferretdb && -f $home/.complete ]] && return 0
    log "building FerretDB $FERRETDB_VERSION from the Go module proxy (takes a few minutes the first time)"
    rm -rf "$home" && mkdir -p "$home"
    (
        set -e
        export GOPATH=$CACHE/go/path GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOFLAGS=-modcacherw
        dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
        [[ -d $dir ]]
        # `go install .../cmd/ferretdb@v1.x` gives a binary that panics at start-up because the
        # module lacks build/version/version.txt (upstream generates it with `bin/task gen-version`).
        # So build from the module's source with that file written.
        cp -r "$dir" "$home/src"
        chmod -R u+w "$home/src"
        echo "$FERRETDB_VERSION" >"$home/src/build/version/version.txt"
        cd "$home/src"
        go build -o "$home/ferretdb" ./cmd/ferretdb
        "$home/ferretdb" --version
    ) >>"$logfile" 2>&1 || die "FerretDB build failed. Log: $logfile"
    rm -rf "$home/src" "$CACHE/go/build" # the Go build cache (~700 MB) only served this build
    touch "$home/.complete"
}

# ---------------------------------------------------------------- health checks
pg_healthy() { "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U cinema -d postgres; }
redis_healthy() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
es_healthy() { curl -sf -m 3 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=2s" >/dev/null; }
mongo_healthy() { port_open "$MONGO_PORT"; }
kafka_healthy() { port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$STATE/kafka/kafka.log" 2>/dev/null; }

# ---------------------------------------------------------------- servers
start_postgres() {
    local dir=$STATE/postgres bin
    bin=$(pg_bindir)
    local data=$dir/data logfile=$dir/postgres.log pidfile=$dir/data/postmaster.pid
    if pid_alive "$pidfile" && pg_healthy; then
        log "postgres already running on $PG_PORT"
    else
        port_open "$PG_PORT" && die "postgres: port $PG_PORT is taken by another process (set CINEMA_PG_PORT)"
        if [[ ! -f $data/PG_VERSION ]]; then
            rm -rf "$dir" && mkdir -p "$dir" && own "$dir"
            as_user "$bin/initdb" -D "$data" -U cinema --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
                die "postgres initdb failed. Log: $dir/initdb.log"
            cat >>"$data/postgresql.conf" <<EOF
# cinema test backend: throwaway data, speed over durability
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        fi
        # After a reboot postmaster.pid may name a pid now reused by another process; postgres
        # would take that for a live server of this data directory and refuse to start.
        if [[ -f $pidfile ]] && ! tr '\0' ' ' <"/proc/$(pid_of "$pidfile")/cmdline" 2>/dev/null | grep -qF "$data"; then
            rm -f "$pidfile" "$dir/.s.PGSQL.$PG_PORT.lock"
        fi
        log "starting postgres on 127.0.0.1:$PG_PORT"
        as_user "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t "$TIMEOUT" start >/dev/null 2>&1 9>&- ||
            die "postgres failed to start. Log: $logfile"$'\n'"$(why_failed "$logfile")"
        wait_healthy postgres "$logfile" "$pidfile" pg_healthy
    fi
    # a dedicated database for FerretDB
    if [[ -z $("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U cinema -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'") ]]; then
        "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U cinema ferretdb
    fi
}

start_redis() {
    local dir=$STATE/redis
    local logfile=$dir/redis.log pidfile=$dir/redis.pid
    if pid_alive "$pidfile" && redis_healthy; then
        log "redis already running on $REDIS_PORT"
        return 0
    fi
    port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by another process (set CINEMA_REDIS_PORT)"
    mkdir -p "$dir"
    log "starting redis on 127.0.0.1:$REDIS_PORT"
    spawn "$pidfile" "$logfile" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" \
        --save "" --appendonly no --databases 256 --protected-mode no --daemonize no
    wait_healthy redis "$logfile" "$pidfile" redis_healthy
}

start_elasticsearch() {
    local dir=$STATE/elasticsearch
    local logfile=$dir/logs/cinema-test.log pidfile=$dir/run/es.pid
    if pid_alive "$pidfile" && es_healthy; then
        log "elasticsearch already running on $ES_PORT"
        return 0
    fi
    port_open "$ES_PORT" && die "elasticsearch: port $ES_PORT is taken by another process (set CINEMA_ES_PORT)"
    local jh
    jh=$(java_home)
    local src=$CACHE/elasticsearch-$ES_VERSION home
    mkdir -p "$dir"/{data,logs,tmp,run}
    [[ -d $dir/config ]] || cp -r "$src/config" "$dir/config"
    own "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run" "$dir/config"
    home=$src
    if ! as_user test -r "$src/lib/elasticsearch-$ES_VERSION.jar"; then
        # the cache is not readable by the unprivileged user (e.g. under /root): use a hard-linked copy
        home=$dir/home
        [[ -d $home ]] || cp -al "$src" "$home" 2>/dev/null || cp -a "$src" "$home"
        chmod -R a+rX "$home"
    fi
    log "starting elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT (java $(java_major "$jh"))"
    rm -f "$pidfile" # a stale one (after a reboot) would be read as this start's
    # -d: daemonize (returns once the node has started); -p: pid file of the server JVM
    as_user env ES_JAVA_HOME="$jh" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
        ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP ${CINEMA_ES_JAVA_OPTS:-}" \
        "$home/bin/elasticsearch" -d -p "$pidfile" \
        -Ecluster.name=cinema-test -Enode.name=cinema-test \
        -Ediscovery.type=single-node \
        -Expack.security.enabled=false \
        -Enetwork.host=127.0.0.1 \
        -Ehttp.port="$ES_PORT" -Etransport.port="$ES_TRANSPORT_PORT" \
        -Epath.data="$dir/data" -Epath.logs="$dir/logs" \
        -Ecluster.routing.allocation.disk.threshold_enabled=false \
        -Eaction.destructive_requires_name=false \
        >"$dir/logs/startup.log" 2>&1 9>&- ||
        die "elasticsearch failed to start. Logs: $dir/logs/startup.log, $logfile"$'\n'"$(why_failed "$dir/logs/startup.log")"
    wait_healthy elasticsearch "$logfile" "$pidfile" es_healthy
}

start_kafka() {
    local dir=$STATE/kafka libs=$CACHE/kafka-$KAFKA_VERSION/libs
    local logfile=$dir/kafka.log pidfile=$dir/kafka.pid
    if pid_alive "$pidfile" && kafka_healthy; then
        log "kafka already running on $KAFKA_PORT"
        return 0
    fi
    port_open "$KAFKA_PORT" && die "kafka: port $KAFKA_PORT is taken by another process (set CINEMA_KAFKA_PORT)"
    local jh
    jh=$(java_home)
    mkdir -p "$dir/logs"
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=9223372036854775807
EOF
    cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = warn
logger.kafkaserver.name = kafka.server.KafkaRaftServer
logger.kafkaserver.level = info
EOF
    local java=("$jh/bin/java" -cp "$libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir/logs")
    if [[ ! -f $dir/data/meta.properties ]]; then
        local cluster_id
        cluster_id=$("${java[@]}" kafka.tools.StorageTool random-uuid 2>>"$dir/format.log" | tail -n1)
        "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
            >>"$dir/format.log" 2>&1 || die "kafka storage format failed. Log: $dir/format.log"
    fi
    log "starting kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
    spawn "$pidfile" "$logfile" "${java[@]}" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC \
        -Djava.awt.headless=true kafka.Kafka "$dir/server.properties"
    wait_healthy kafka "$logfile" "$pidfile" kafka_healthy
}

start_ferretdb() {
    local dir=$STATE/ferretdb bin=$CACHE/ferretdb-$FERRETDB_VERSION/ferretdb
    local logfile=$dir/ferretdb.log pidfile=$dir/ferretdb.pid
    if pid_alive "$pidfile" && mongo_healthy; then
        log "ferretdb already running on $MONGO_PORT"
        return 0
    fi
    port_open "$MONGO_PORT" && die "ferretdb: port $MONGO_PORT is taken by another process (set CINEMA_MONGO_PORT)"
    mkdir -p "$dir"
    log "starting ferretdb $FERRETDB_VERSION on 127.0.0.1:$MONGO_PORT (postgresql backend, database ferretdb)"
    spawn "$pidfile" "$logfile" "$bin" --handler=postgresql \
        --postgresql-url="postgres://cinema@127.0.0.1:$PG_PORT/ferretdb" \
        --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$dir" --debug-addr=- \
        --telemetry=disable --log-level=warn
    wait_healthy ferretdb "$logfile" "$pidfile" mongo_healthy
}

# ---------------------------------------------------------------- commands
env_lines() {
    cat <<EOF
export CINEMA_TEST_POSTGRES_DSN=postgresql://cinema@127.0.0.1:$PG_PORT/postgres
export CINEMA_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export CINEMA_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT
export CINEMA_TEST_MONGODB_URL=mongodb://127.0.0.1:$MONGO_PORT/
export CINEMA_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
EOF
}

cmd_up() {
    local t0=$SECONDS
    mkdir -p "$STATE/logs" "$CACHE"
    touch "$STATE/.cinema-backends"
    chmod 755 "$STATE"
    ensure_packages

    # Four independent chains, run in parallel; each one dies with its own message.
    local -A jobs=()
    (ensure_es && ensure_es_plugin && start_elasticsearch) &
    jobs[elasticsearch]=$!
    (ensure_kafka && start_kafka) &
    jobs[kafka]=$!
    (start_postgres && ensure_ferretdb && start_ferretdb) &
    jobs[postgres+ferretdb]=$!
    start_redis &
    jobs[redis]=$!

    local name failed=()
    for name in "${!jobs[@]}"; do
        wait "${jobs[$name]}" || failed+=("$name")
    done
    ((${#failed[@]} == 0)) || die "backends not started: ${failed[*]} (see messages above; state in $STATE)"
    env_lines >"$STATE/env"
    log "all backends healthy in $((SECONDS - t0))s; exports also in $STATE/env"
    env_lines
}

cmd_down() {
    [[ -e $STATE ]] || { log "nothing to stop ($STATE does not exist)"; return 0; }
    local bin
    bin=$(pg_bindir || true)
    stop_pidfile ferretdb "$STATE/ferretdb/ferretdb.pid" &
    stop_pidfile kafka "$STATE/kafka/kafka.pid" &
    stop_pidfile elasticsearch "$STATE/elasticsearch/run/es.pid" &
    stop_pidfile redis "$STATE/redis/redis.pid" &
    wait
    if [[ -n $bin ]] && pid_alive "$STATE/postgres/data/postmaster.pid"; then
        as_user "$bin/pg_ctl" -D "$STATE/postgres/data" -m fast -w stop >/dev/null 2>&1 ||
            stop_pidfile postgres "$STATE/postgres/data/postmaster.pid"
        log "postgres stopped"
    fi
    if [[ -e $STATE/.cinema-backends ]]; then
        rm -rf "$STATE"
        log "removed $STATE"
    else
        log "not removing $STATE: it has no .cinema-backends marker"
    fi
}

cmd_status() {
    local bad=0 name port pidfile check pid health
    printf '%-14s %-6s %-8s %s\n' SERVER PORT PID HEALTH
    while read -r name port pidfile check; do
        pid=$(pid_of "$STATE/$pidfile" 2>/dev/null || true)
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then :; else pid=-; fi
        if "$check" 2>/dev/null; then health=healthy; else
            health=DOWN
            bad=1
        fi
        printf '%-14s %-6s %-8s %s\n' "$name" "$port" "$pid" "$health"
    done <<EOF
postgres $PG_PORT postgres/data/postmaster.pid pg_healthy
redis $REDIS_PORT redis/redis.pid redis_healthy
elasticsearch $ES_PORT elasticsearch/run/es.pid es_healthy
ferretdb $MONGO_PORT ferretdb/ferretdb.pid mongo_healthy
kafka $KAFKA_PORT kafka/kafka.pid kafka_healthy
EOF
    printf 'state: %s   cache: %s\n' "$STATE" "$CACHE"
    return $bad
}

cmd_start() {
    local name=$1
    mkdir -p "$STATE/logs" "$CACHE"
    touch "$STATE/.cinema-backends"
    chmod 755 "$STATE" # postgres and Elasticsearch run as $RUN_USER, who must reach their dirs
    ensure_packages
    case $name in
    postgres) start_postgres ;;
    redis) start_redis ;;
    elasticsearch) ensure_es && ensure_es_plugin && start_elasticsearch ;;
    ferretdb)
        pg_healthy || die "ferretdb keeps its data in this state's postgres (port $PG_PORT): start postgres first"
        ensure_ferretdb && start_ferretdb
        ;;
    kafka)
        # kafka_healthy looks for the start-up line in the log: let it see this start's only
        [[ -f $STATE/kafka/kafka.log ]] && mv "$STATE/kafka/kafka.log" "$STATE/kafka/kafka.log.1"
        ensure_kafka && start_kafka
        ;;
    esac
}

cmd_stop() {
    local name=$1 bin
    case $name in
    postgres)
        bin=$(pg_bindir || true)
        if [[ -n $bin ]] && pid_alive "$STATE/postgres/data/postmaster.pid"; then
            as_user "$bin/pg_ctl" -D "$STATE/postgres/data" -m fast -w stop >/dev/null 2>&1 ||
                stop_pidfile postgres "$STATE/postgres/data/postmaster.pid"
            log "postgres stopped"
        fi
        ;;
    redis) stop_pidfile redis "$STATE/redis/redis.pid" ;;
    elasticsearch) stop_pidfile elasticsearch "$STATE/elasticsearch/run/es.pid" ;;
    ferretdb) stop_pidfile ferretdb "$STATE/ferretdb/ferretdb.pid" ;;
    kafka) stop_pidfile kafka "$STATE/kafka/kafka.pid" ;;
    esac
}

main() {
    local cmd=${1:-}
    case $cmd in
    up | down)
        mkdir -p "$(dirname "$STATE")"
        exec 9>"$STATE.lock" # one up/down at a time
        flock -w 900 9 || die "another up/down holds $STATE.lock for too long"
        "cmd_$cmd"
        ;;
    start | stop)
        [[ ${2:-} =~ ^(postgres|redis|elasticsearch|ferretdb|kafka)$ ]] ||
            die "usage: $0 $cmd postgres|redis|elasticsearch|ferretdb|kafka"
        mkdir -p "$(dirname "$STATE")"
        exec 9>"$STATE.lock" # shares the lock of up/down on this state
        flock -w 900 9 || die "another command holds $STATE.lock for too long"
        "cmd_$cmd" "$2"
        ;;
    status) cmd_status ;;
    env) env_lines ;;
    *)
        echo "usage: $0 up|down|status|env|start NAME|stop NAME" >&2
        exit 2
        ;;
    esac
}

main "$@"
