#!/usr/bin/env bash
# The main job on the bundled examples (run by `make demo`): validate an example, show what
# each node's kube-proxy uses, render the iptables, nftables and IPVS views and one service's
# userspace-mode portal rules, trace a packet and simulate connections. $SVCCORE is the command
# (default: svccore on PATH).
#
# Each step fits a screen: long outputs are cut after $DEMO_LINES lines (default 10) with the
# command that prints them whole, and each distinct warning is printed once per run. Colour
# only on a terminal, and never with NO_COLOR set.
set -euo pipefail
svccore=${SVCCORE:-svccore}
max_lines=${DEMO_LINES:-10}
cd "$(dirname "$0")/../examples"

if [ -t 1 ] && [ -z "${NO_COLOR+x}" ] && [ "${TERM:-}" != dumb ]; then
    bold=$'\033[1m' dim=$'\033[2m' reset=$'\033[0m'
else
    bold='' dim='' reset=''
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/seen"

# run ARGS...: prints the command, its output (cut to $max_lines lines) and the warnings it
# wrote to stderr that no earlier step printed. A failing command fails the demo.
run() {
    printf '\n%s$ svccore %s%s\n' "$bold" "$*" "$reset"
    local rc=0
    "$svccore" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    local total
    total=$(wc -l <"$tmp/out")
    # A few lines over the limit are shown rather than cut.
    if [ "$total" -le $((max_lines + 5)) ]; then
        cat "$tmp/out"
    else
        head -n "$max_lines" "$tmp/out"
        printf '%s… %d more lines: svccore %s%s\n' "$dim" "$((total - max_lines))" "$*" "$reset"
    fi
    local line
    while IFS= read -r line; do
        if ! grep -qxF -- "$line" "$tmp/seen"; then
            printf '%s\n' "$line" >>"$tmp/seen"
            printf '%s%s%s\n' "$dim" "$line" "$reset" >&2
        fi
    done <"$tmp/err"
    return "$rc"
}

step() {
    printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"
}

step "Validate an example as the API server would"
run validate -f nginx-study.yaml

step "The endpoints each node's kube-proxy uses"
run endpoints -f nginx-study.yaml --node node2

step "iptables mode: node2's iptables-restore payload"
run render iptables -f nginx-study.yaml --node node2 --cluster-cidr 10.244.0.0/16

step "nftables mode: node2's kube-proxy table, as nft list table ip kube-proxy prints it"
run render nftables -f nginx-study.yaml --node node2 --cluster-cidr 10.244.0.0/16 --form list

step "ipvs mode: a seed post's ipvsadm -Ln listing, reproduced from the manifests"
run render ipvs -f nginx-affinity.yaml --node master

# The same service as userspace kube-proxy (Kubernetes 1.25 and earlier) programmed it: the
# rules only send its traffic to the proxy's own port, where kube-proxy balances it.
step "userspace mode: the same service's portal rules, to the proxy's port"
run render iptables -f nginx-affinity.yaml --node master --mode userspace --proxy-port-range 36000-36099

# A packet from outside to the NodePort on master (no local pod: ETP Cluster spreads it),
# and to the LoadBalancer (ETP Local) on master (dropped, and why); then nftables mode: a pod
# on node2 to the LoadBalancer's cluster IP (numgen random mod 3, with the kernel's exact shares).
step "Packet traces"
run trace -f nginx-study.yaml --node master --src 203.0.113.7 --dst 192.168.100.53:30002 --from external
run trace -f nginx-study.yaml --node master --src 192.168.100.9 --dst 10.101.135.10:80 --from external
run trace -f nginx-study.yaml --node node2 --src 10.244.2.9 --dst 10.108.12.40:80 --from pod --mode nftables

# The cascade, then Maglev with the disruption of losing a pod.
step "Where connections land"
run simulate -f nginx-study.yaml --service study/service-clusterip --node master
run simulate -f nginx-study.yaml --service study/service-clusterip --node master --scheduler maglev --remove-endpoint 10.244.166.129:80
