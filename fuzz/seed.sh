#!/bin/sh
# Gathers the seed corpora into fuzz/corpus/<target>/ (or $FUZZ_CORPUS/<target>/) from the
# repository's own inputs (conformance clusters, examples, node dumps, kernel listings), so no
# corpus is committed. Idempotent: files are named by their source path.
set -eu
cd "$(dirname "$0")/.."
corpus=${FUZZ_CORPUS:-fuzz/corpus}
put() { # put TARGET FILE...
    dir="$corpus/$1"; shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$dir/$(printf '%s' "$f" | tr '/' '_')"
    done
}
put loader_json tests/conformance/*/*/cluster.json examples/*.json tests/raw-api/*.json
put loader_yaml examples/*.yaml tests/kubectl-yaml/*.yaml core/tests/ipvs_data/*.yaml tests/bad-manifests/*.yaml
dumps=$(find tests/node-dumps tests/conformance/iptables -type f \
    \( -name '*.txt' -o -name 'expected*' \) 2>/dev/null | head -200)
put iptables_dump $dumps
put audit_dump $dumps $(find tests/ipvs core/tests/ipvs_data -type f 2>/dev/null | grep -v '\.yaml$' | head -50) \
    tests/conformance/nftables/*/kernel-list.txt
put nft_listing tests/conformance/nftables/*/kernel-list.txt tests/conformance/nftables/*/expected.txt
# Hostile YAML the page and the CLI must refuse quickly: deep flow nesting, deep block nesting,
# an alias bomb.
y=$corpus/loader_yaml
printf 'kind: Service\nmetadata: %s\n' "$(head -c 20000 /dev/zero | tr '\0' '[')" >"$y/hostile-deep-flow.yaml"
i=0; { echo 'kind: Service'; echo 'spec:'; while [ $i -lt 300 ]; do i=$((i+1)); printf '%*sk%d:\n' "$i" '' "$i"; done; } >"$y/hostile-deep-block.yaml"
{ echo 'a: &a [x, x, x, x, x, x, x, x, x]'; p=a
  for n in b c d e f g h i j; do printf '%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n' $n $n $p $p $p $p $p $p $p $p $p; p=$n; done
} >"$y/hostile-alias-bomb.yaml"
# The readers' differential target reads both formats: the seeds of both loader targets.
put loader_typed tests/conformance/*/*/cluster.json examples/*.json tests/raw-api/*.json \
    examples/*.yaml tests/kubectl-yaml/*.yaml core/tests/ipvs_data/*.yaml tests/bad-manifests/*.yaml
cp "$y"/hostile-* "$corpus/loader_typed/"
# The block-YAML reader against libyaml: every YAML input, hostile texts included.
put yaml_subset examples/*.yaml tests/kubectl-yaml/*.yaml core/tests/ipvs_data/*.yaml tests/bad-manifests/*.yaml
cp "$y"/hostile-* "$corpus/yaml_subset/"
# loader_typed_mutate's input is a list of edits to valid manifests, not text: random bytes.
mkdir -p "$corpus/loader_typed_mutate"
for i in $(seq 1 64); do
    head -c $((i * 5 + 8)) /dev/urandom >"$corpus/loader_typed_mutate/random-$i"
done
for t in loader_json loader_yaml loader_typed loader_typed_mutate yaml_subset iptables_dump nft_listing audit_dump; do
    printf '%s: %s seeds\n' "$t" "$(ls "$corpus/$t" | wc -l)"
done
