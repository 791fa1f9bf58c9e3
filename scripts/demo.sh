#!/usr/bin/env bash
# The main job on the bundled examples (run by `make demo`): validate every example, show what
# each node's kube-proxy uses, render the iptables, nftables and IPVS views, trace a packet and
# simulate connections. $SVCCORE is the command (default: svccore on PATH).
#
# Each step fits a screen: long outputs are cut after $DEMO_LINES lines (default 40) with the
# command that prints them whole, and each distinct warning is printed once per run. Colour
# only on a terminal, and never with NO_COLOR set.
set -euo pipefail
svccore=${SVCCORE:-svccore}
max_lines=${DEMO_LINES:-40}
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

step "Validate every example as the API server would"
for f in *.yaml *.json; do
    run validate -f "$f"
done

step "The endpoints each node's kube-proxy uses"
run endpoints -f nginx-study.yaml --node node2

step "iptables mode: node2's iptables-restore payload, then iptables-save of the affinity example"
run render iptables -f nginx-study.yaml --node node2 --cluster-cidr 10.244.0.0/16
run render iptables -f nginx-affinity.yaml --node master --cluster-cidr 10.244.0.0/16 --form save

step "nftables mode: node2's kube-proxy table, as nft list table ip kube-proxy prints it"
run render nftables -f nginx-study.yaml --node node2 --cluster-cidr 10.244.0.0/16 --form list

step "ipvs mode: the seed posts' ipvsadm -Ln listings, reproduced from the manifests"
run render ipvs -f nginx-study.yaml --node master
run render ipvs -f nginx-affinity.yaml --node master
run render ipvs -f kube-system.json --node master

# A packet from outside to the NodePort on master (no local pod: ETP Cluster spreads it),
# and to the LoadBalancer (ETP Local) on master (dropped) and on node2 (its own pod); then the
# ipvs and nftables modes.
step "Packet traces"
run trace -f nginx-study.yaml --node master --src 203.0.113.7 --dst 192.168.100.53:30002 --from external
run trace -f nginx-study.yaml --node master --src 192.168.100.9 --dst 10.101.135.10:80 --from external
run trace -f nginx-study.yaml --node node2 --src 192.168.100.9 --dst 10.101.135.10:80 --from external
run trace -f nginx-affinity.yaml --node master --src 10.244.104.10 --dst 10.97.97.97:80 --mode ipvs
# nftables mode: a pod on node2 to the LoadBalancer's cluster IP, through the kube-proxy table
# (numgen random mod 3, with the kernel's exact shares).
run trace -f nginx-study.yaml --node node2 --src 10.244.2.9 --dst 10.108.12.40:80 --from pod --mode nftables

# The cascade, rr, Maglev (with the disruption of losing a pod), and ClientIP affinity (every
# client stays on one pod for the whole run).
step "Where connections land"
run simulate -f nginx-study.yaml --service study/service-clusterip --node master
run simulate -f nginx-study.yaml --service study/service-clusterip --node master --mode ipvs --hold 600
run simulate -f nginx-study.yaml --service study/service-clusterip --node master --scheduler maglev --remove-endpoint 10.244.166.129:80
run simulate -f nginx-affinity.yaml --service study/service-clusterip --node master --clients 20 --connections 2000
