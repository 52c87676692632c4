# shellcheck shell=bash
# scripts/services/k8s.sh: the `k8s` service of scripts/services.sh (sourced by it, not run
# on its own): a real kube-apiserver on etcd, on 127.0.0.1, for the enricher's informers.
#
#   etcd            http://127.0.0.1:12379 (peer 12380), Debian's etcd-server, data in <state>/k8s/etcd
#   kube-apiserver  https://127.0.0.1:16443, built from k8s.io/kubernetes at K8S_VERSION with the
#                   Go toolchain and cached as ~/.cache/dnsflow/bin/kube-apiserver-<version>
#   credentials     <state>/k8s/kubeconfig (admin token, CA path); the token alone in
#                   <state>/k8s/token; the user is in system:masters (RBAC allows everything)
#
# No kubelet, scheduler or controller-manager: pods are created with spec.nodeName set and
# their status (IPs, phase) is patched by the tests; namespaces are finalized by the tests.
# Service IPs come from 10.96.0.0/16 but only exist as fields: nothing routes to them.
#
# Expired watches (410 Gone): the watch cache is off (--watch-cache=false), so every watch is
# served by etcd, and a watch from a resourceVersion older than etcd's compacted revision
# ends with an ERROR event carrying a 410 Status, exactly as informers see it after a long
# disconnect. `k8s_expire` (and expireWatches() in test/support/k8s.ts) writes once, then
# compacts etcd at the current revision: every resourceVersion handed out before is expired.
# The apiserver's own periodic compaction is off so only that helper expires anything. With
# the cache off, bookmarks come only at the end of the initial events of a watch with
# sendInitialEvents=true&allowWatchBookmarks=true (periodic bookmarks are a cache feature).

K8S_VERSION=v1.37.2 # k8s.io/kubernetes; its staging modules are published as v0.37.2
K8S_ETCD_CLIENT_PORT=12379
K8S_ETCD_PEER_PORT=12380
K8S_API_PORT=16443
K8S_SERVICE_CIDR=10.96.0.0/16
K8S_ADMIN_USER=dnsflow-admin
K8S_ADMIN_TOKEN=dnsflow-admin-token # test-only, like the Kafka and ES passwords
K8S_READY_TIMEOUT=120
# etcd refuses writes beyond this (a test cluster holds kilobytes); keeps its mmap small.
K8S_ETCD_QUOTA_BYTES=$((256 * 1024 * 1024))
# Go's GC for the apiserver: collect at +50% heap and work harder near a soft limit (its live
# heap is ~100 MB here) rather than grow; measured RSS after start 244 MB, 282 MB with defaults.
K8S_API_GOMEMLIMIT=200MiB

BIN_CACHE="${DNSFLOW_BIN_CACHE:-$HOME/.cache/dnsflow/bin}"
K8S_DIR="$STATE_DIR/k8s"
K8S_PKI="$K8S_DIR/pki"
K8S_ETCD_DATA="$K8S_DIR/etcd"
K8S_ETCD_PIDFILE="$K8S_DIR/etcd.pid"
K8S_ETCD_LOG="$K8S_DIR/etcd.log"
K8S_API_PIDFILE="$K8S_DIR/kube-apiserver.pid"
K8S_API_LOG="$K8S_DIR/kube-apiserver.log"
K8S_KUBECONFIG="$K8S_DIR/kubeconfig"
K8S_APISERVER_BIN="$BIN_CACHE/kube-apiserver-$K8S_VERSION"

k8s_etcd_pid() { live_pid "$K8S_ETCD_PIDFILE" "$K8S_ETCD_DATA"; }
k8s_api_pid() { live_pid "$K8S_API_PIDFILE" "$K8S_PKI/tokens.csv"; }

# ---------------------------------------------------------------- kube-apiserver binary
# `go install k8s.io/kubernetes/cmd/kube-apiserver@v` does not work: the module's go.mod
# replaces its k8s.io/* staging modules with ./staging paths, which a dependency cannot
# use. A throwaway module that requires k8s.io/kubernetes and replaces each staging module
# with its published v0.<minor>.<patch> builds the same sources. GOMODCACHE and GOCACHE
# stay Go's defaults, so a second build (another version, a wiped bin dir) reuses both.
k8s_build_apiserver() {
  [[ -x $K8S_APISERVER_BIN ]] && return 0
  command -v go >/dev/null ||
    die "k8s: building kube-apiserver $K8S_VERSION needs the Go toolchain (go) on PATH"
  local staging="v0.${K8S_VERSION#v1.}" gomod tmp start=$SECONDS
  local goflags="${GOFLAGS:+$GOFLAGS }-mod=mod"
  mkdir -p "$BIN_CACHE"
  tmp=$(mktemp -d "$BIN_CACHE/.build-kube-apiserver.XXXXXX")
  note "k8s: building kube-apiserver $K8S_VERSION from k8s.io/kubernetes (several minutes when cold)"
  gomod=$(cd "$tmp" && GOFLAGS=$goflags go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p') || true
  [[ -n $gomod && -f $gomod ]] || { rm -rf "$tmp"; die "k8s: could not download k8s.io/kubernetes@$K8S_VERSION"; }
  {
    printf 'module dnsflow.local/kube-apiserver-build\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod")" "$K8S_VERSION"
    sed -n "s#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 $staging#p" "$gomod"
    printf ')\n'
  } >"$tmp/go.mod"
  # The version stamp Kubernetes' own build sets (hack/lib/version.sh); without it /version
  # says v0.0.0-master. The build date is the release's, from the module proxy.
  local minor=${K8S_VERSION#v1.} date pkg ldflags='-s -w'
  minor=${minor%%.*}
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "${gomod%.mod}.info")
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${date:-1970-01-01T00:00:00Z}"
  done
  if ! (cd "$tmp" && GOFLAGS=$goflags go build -trimpath -ldflags="$ldflags" \
    -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2); then
    rm -rf "$tmp"
    die "k8s: building kube-apiserver $K8S_VERSION failed (see above)"
  fi
  mv "$tmp/kube-apiserver" "$K8S_APISERVER_BIN"
  rm -rf "$tmp"
  note "k8s: kube-apiserver $K8S_VERSION built in $((SECONDS - start))s: $K8S_APISERVER_BIN"
}

# ---------------------------------------------------------------- certificates, credentials
# The test CA and serving certificate (127.0.0.1, localhost) as for es-secure, plus the
# service-account signing key pair; all made once.
k8s_make_pki() {
  local p=$K8S_PKI
  make_test_certs "$p" k8s
  if [[ ! (-s $p/sa.key && -s $p/sa.pub) ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$p/sa.key" 2>/dev/null
    openssl pkey -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
    chmod 0600 "$p/sa.key"
  fi
  # token,user,uid,"groups": system:masters is bound to cluster-admin by the RBAC bootstrap.
  printf '%s,%s,%s,"system:masters"\n' "$K8S_ADMIN_TOKEN" "$K8S_ADMIN_USER" "$K8S_ADMIN_USER" \
    >"$p/tokens.csv"
  chmod 0600 "$p/tokens.csv"
  printf '%s\n' "$K8S_ADMIN_TOKEN" >"$K8S_DIR/token"
  cat >"$K8S_KUBECONFIG" <<EOF
# Written by scripts/services.sh; test-only credentials.
apiVersion: v1
kind: Config
clusters:
  - name: dnsflow-test
    cluster:
      server: https://$HOST:$K8S_API_PORT
      certificate-authority: $p/ca.crt
users:
  - name: $K8S_ADMIN_USER
    user:
      token: $K8S_ADMIN_TOKEN
contexts:
  - name: dnsflow-test
    context:
      cluster: dnsflow-test
      user: $K8S_ADMIN_USER
current-context: dnsflow-test
EOF
}

k8s_prepare() {
  [[ -x /usr/bin/etcd ]] || command -v etcd >/dev/null || apt_install etcd-server
  mkdir -p "$K8S_DIR"
  k8s_build_apiserver
  k8s_make_pki
}

# ---------------------------------------------------------------- start, wait, stop
k8s_launch_etcd() {
  k8s_etcd_pid >/dev/null && return 0
  [[ -f $K8S_ETCD_LOG ]] && mv -f "$K8S_ETCD_LOG" "$K8S_ETCD_LOG.1"
  # --snapshot-count: raft entries kept in memory between snapshots (default 100000).
  nohup setsid etcd --name dnsflow-k8s --data-dir "$K8S_ETCD_DATA" \
    --listen-client-urls "http://$HOST:$K8S_ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://$HOST:$K8S_ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://$HOST:$K8S_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://$HOST:$K8S_ETCD_PEER_PORT" \
    --initial-cluster "dnsflow-k8s=http://$HOST:$K8S_ETCD_PEER_PORT" \
    --quota-backend-bytes "$K8S_ETCD_QUOTA_BYTES" --snapshot-count 5000 \
    --logger zap --log-level warn \
    >"$K8S_ETCD_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$K8S_ETCD_PIDFILE"
  await_exec $! "$K8S_ETCD_DATA"
}

k8s_launch() {
  k8s_launch_etcd
  [[ -f $K8S_API_LOG ]] && mv -f "$K8S_API_LOG" "$K8S_API_LOG.1"
  # The apiserver retries etcd until it answers, so both start together.
  # Off: the ServiceAccount admission plugin (no controller-manager creates the `default`
  # service accounts it insists on), priority and fairness (its config controller churns
  # etcd), the endpoint reconciler (no one reaches 10.96.0.1), periodic compaction (see
  # the header: only the tests' expiry helper compacts).
  GOGC=50 GOMEMLIMIT=$K8S_API_GOMEMLIMIT nohup setsid "$K8S_APISERVER_BIN" \
    --etcd-servers="http://$HOST:$K8S_ETCD_CLIENT_PORT" \
    --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$K8S_API_PORT" \
    --tls-cert-file="$K8S_PKI/node.crt" --tls-private-key-file="$K8S_PKI/node.key" \
    --token-auth-file="$K8S_PKI/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$K8S_PKI/sa.pub" \
    --service-account-signing-key-file="$K8S_PKI/sa.key" \
    --service-cluster-ip-range="$K8S_SERVICE_CIDR" \
    --disable-admission-plugins=ServiceAccount --allow-privileged=true \
    --enable-priority-and-fairness=false --endpoint-reconciler-type=none \
    --watch-cache=false --etcd-compaction-interval=0 \
    --profiling=false --enable-logs-handler=false \
    >"$K8S_API_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$K8S_API_PIDFILE"
  await_exec $! "$K8S_PKI/tokens.csv"
}

k8s_curl() {
  curl -sS --max-time 5 --cacert "$K8S_PKI/ca.crt" -H "Authorization: Bearer $K8S_ADMIN_TOKEN" "$@"
}

k8s_healthy() {
  [[ $(k8s_curl -o /dev/null -w '%{http_code}' "https://$HOST:$K8S_API_PORT/readyz" 2>/dev/null) == 200 ]]
}

k8s_wait() {
  local deadline=$((SECONDS + K8S_READY_TIMEOUT)) pid
  # `up` on an apiserver that runs without its etcd (etcd crashed or was killed) lands here
  # without a launch; the apiserver reconnects once etcd is back.
  if ! k8s_etcd_pid >/dev/null; then
    note "k8s: etcd is not running; starting it"
    k8s_launch_etcd
  fi
  while ((SECONDS < deadline)); do
    k8s_etcd_pid >/dev/null || { fail_with_log k8s "etcd exited during startup" "$K8S_ETCD_LOG"; return 1; }
    pid=$(k8s_api_pid) || { fail_with_log k8s "kube-apiserver exited during startup" "$K8S_API_LOG"; return 1; }
    if k8s_healthy; then
      say "k8s: up on https://$HOST:$K8S_API_PORT (pid $pid; etcd $HOST:$K8S_ETCD_CLIENT_PORT pid $(k8s_etcd_pid))"
      say "k8s: kubeconfig $K8S_KUBECONFIG"
      return 0
    fi
    sleep 0.5
  done
  fail_with_log k8s "kube-apiserver not ready after ${K8S_READY_TIMEOUT}s" "$K8S_API_LOG" "$K8S_ETCD_LOG"
}

# The apiserver first: it would otherwise log etcd errors while shutting down.
k8s_stop() {
  local pid
  if pid=$(k8s_api_pid); then stop_pid kube-apiserver "$pid"; else say "kube-apiserver: not running"; fi
  if pid=$(k8s_etcd_pid); then stop_pid etcd "$pid"; else say "etcd: not running"; fi
}

k8s_pid() { k8s_api_pid; }
k8s_logfiles() { printf '%s\n' "$K8S_ETCD_LOG" "$K8S_API_LOG"; }
k8s_endpoint() { printf '%s\n' "https://$HOST:$K8S_API_PORT"; }
# etcd's ports only when it is not ours already (it may outlive a crashed apiserver).
k8s_ports() {
  k8s_etcd_pid >/dev/null || printf '%s\n' "$K8S_ETCD_CLIENT_PORT" "$K8S_ETCD_PEER_PORT"
  printf '%s\n' "$K8S_API_PORT"
}
k8s_status_extra() { say "k8s: kubeconfig $K8S_KUBECONFIG"; }

# Expire every resourceVersion handed out so far: one write (so the current revision is
# newer than any of them), then an etcd compaction at that revision. Prints the revision.
k8s_expire() {
  local rev
  export ETCDCTL_API=3
  local ep="--endpoints=http://$HOST:$K8S_ETCD_CLIENT_PORT"
  need_cmd etcdctl etcd-client
  rev=$(etcdctl "$ep" put /dnsflow/expire-marker "$(date +%s%N)" -w json |
    sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
  [[ -n $rev ]] || die "k8s: could not read etcd's revision"
  etcdctl "$ep" compact "$rev" --physical >/dev/null
  say "$rev"
}

# ---------------------------------------------------------------- CoreDNS (install only)
# The cluster DNS of the end-to-end tests: test/support/coredns.ts starts it with its own
# Corefile (kubernetes plugin on the kubeconfig above). Not a service of `up`: only built.
# Built from a generated main that links only the plugins below, the way CoreDNS documents
# custom builds: the stock binary also links the AWS, Azure and Google Cloud SDKs (route53,
# azure, clouddns), which would double a cold build for plugins no test uses.
COREDNS_VERSION=v1.15.0
# `file` serves the sandbox's demo zone (packages/sandbox).
COREDNS_PLUGINS=(autopath bind cache errors file forward health hosts k8s_external kubernetes
  loadbalance log loop metrics ready reload rewrite template whoami)
COREDNS_BIN="$BIN_CACHE/coredns-$COREDNS_VERSION"
# The plugin list the cached binary was built with: a changed list rebuilds it.
COREDNS_STAMP="$BIN_CACHE/.coredns-$COREDNS_VERSION.plugins"

coredns_prepare() {
  [[ -x $COREDNS_BIN && $(cat "$COREDNS_STAMP" 2>/dev/null) == "${COREDNS_PLUGINS[*]}" ]] && return 0
  command -v go >/dev/null ||
    die "coredns: building CoreDNS $COREDNS_VERSION needs the Go toolchain (go) on PATH"
  local tmp plugin start=$SECONDS goflags="${GOFLAGS:+$GOFLAGS }-mod=mod"
  mkdir -p "$BIN_CACHE"
  tmp=$(mktemp -d "$BIN_CACHE/.build-coredns.XXXXXX")
  note "coredns: building CoreDNS $COREDNS_VERSION (a few minutes when Go's caches are cold)"
  printf 'module dnsflow.local/coredns-build\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns %s\n' \
    "$COREDNS_VERSION" >"$tmp/go.mod"
  {
    printf '// Generated by scripts/services/k8s.sh: CoreDNS with the plugins dnsflow tests use.\n'
    printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n\n'
    for plugin in "${COREDNS_PLUGINS[@]}"; do
      printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "$plugin"
    done
    printf ')\n\nfunc main() { coremain.Run() }\n'
  } >"$tmp/main.go"
  if ! (cd "$tmp" && GOFLAGS=$goflags go build -trimpath -ldflags='-s -w' -o "$tmp/coredns" . >&2); then
    rm -rf "$tmp"
    die "coredns: building CoreDNS $COREDNS_VERSION failed (see above)"
  fi
  mv "$tmp/coredns" "$COREDNS_BIN"
  printf '%s\n' "${COREDNS_PLUGINS[*]}" >"$COREDNS_STAMP"
  rm -rf "$tmp"
  note "coredns: CoreDNS $COREDNS_VERSION built in $((SECONDS - start))s: $COREDNS_BIN"
}
coredns_pid() { return 1; }
