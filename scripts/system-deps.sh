#!/usr/bin/env bash
# scripts/system-deps.sh: the Debian packages the collector and its tests need, installed
# with apt-get only when missing. Runs from `node scripts/bootstrap.js --deps` BEFORE
# `npm ci`, because the `pcap` npm package is a native addon that compiles against libpcap
# during the install. Quick when everything is present (dpkg-query and `command -v` only).
#
#   libpcap-dev          headers + libpcap.so for the `pcap` addon (node-gyp)
#   python3 make g++     node-gyp's toolchain (only installed when not on PATH)
#   dnsmasq-base         the real DNS server the tests start (test/support/dns.ts); the
#                        -base package is the bare binary: no system service on port 53
#   bind9-dnsutils       `dig`, the real DNS client the tests run
#   knot-dnsutils        `kdig`, a second client (DoT/DoH and exact wire options)
#   tcpdump              to compare what libpcap sees with what the collector sees
#   dnsperf              load generator for the benchmarks in scripts/bench
#   etcd-server          the store of the test kube-apiserver (`services.sh up k8s`), run by
#                        services.sh on its own ports; the package's system service is stopped
#   etcd-client          `etcdctl`, to compact etcd so tests see watches expire (410 Gone)
#   nftables iproute2    the sandbox node (packages/sandbox): service IPs by DNAT, pod
#                        firewalls, network namespaces and veth pairs
#
# Set DNSFLOW_SKIP_SYSTEM_DEPS=1 to skip (for machines managed another way).
set -euo pipefail

note() { printf 'system-deps: %s\n' "$*" >&2; }
die() {
  printf 'system-deps: error: %s\n' "$*" >&2
  exit 1
}

if [[ ${DNSFLOW_SKIP_SYSTEM_DEPS:-} == 1 ]]; then
  note "DNSFLOW_SKIP_SYSTEM_DEPS=1: not checking Debian packages"
  exit 0
fi

# Debian packages that must be installed (checked with dpkg, so headers count too).
PACKAGES=(libpcap-dev dnsmasq-base bind9-dnsutils knot-dnsutils tcpdump dnsperf nftables iproute2)
# Commands that may come from elsewhere (pyenv, a toolchain image): only their absence
# from PATH makes us install the Debian package. "command:package".
COMMANDS=(python3:python3 make:make g++:g++)

installed() {
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
for pair in "${COMMANDS[@]}"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done

# node-gyp compiles `pcap` against Node's headers: from npm's `nodedir` setting, from its
# cache, or downloaded from nodejs.org, which a machine that reaches only package
# registries cannot do. Say so here rather than let `npm ci` fail in the middle of a build.
check_node_headers() {
  local version nodedir prefix
  version=$(node -p process.versions.node)
  nodedir=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
  [[ -n $nodedir && $nodedir != undefined && -f $nodedir/include/node/common.gypi ]] && return
  [[ -f ${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp/$version/include/node/common.gypi ]] && return
  prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [[ -f $prefix/include/node/common.gypi ]]; then
    note "warning: npm's nodedir is unset or has no headers; node-gyp will try to download headers for Node $version."
    note "  this Node ships them: npm config set nodedir=$prefix --location=user"
  else
    note "warning: no Node $version headers found; node-gyp will try to download them."
  fi
}

if [[ ${#missing[@]} -eq 0 ]]; then
  check_node_headers
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  die "missing ${missing[*]} and there is no apt-get here; install them with your package manager"
fi
if [[ $(id -u) -ne 0 ]]; then
  die "missing ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
fi

export DEBIAN_FRONTEND=noninteractive
note "apt-get update"
apt-get update -qq >/dev/null
note "apt-get install ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Where systemd runs, installing etcd-server starts a system etcd on 2379 that nothing here
# uses (services.sh runs its own on 12379): stop it when this run installed it.
if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null &&
  systemctl is-active --quiet etcd 2>/dev/null; then
  note "stopping and disabling the etcd system service (services.sh runs its own)"
  systemctl disable --now etcd >/dev/null 2>&1 || true
fi
check_node_headers
