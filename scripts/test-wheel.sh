#!/bin/sh
# Installs the abi3 wheel in dist/ into a fresh venv of each interpreter and runs it: the
# default python3, the oldest CPython the package declares (requires-python) and the newest
# CPython pyenv has. An interpreter pyenv lacks is reported and skipped; the default one must
# work. Offline: the wheel has no dependencies (--no-index).
set -eu

PYTHON=${PYTHON:-python3}
EXAMPLE=${EXAMPLE:-examples/nginx-study.yaml}
wheel=$(ls dist/svccore-*.whl)
oldest=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' bindings-py/pyproject.toml)

# The newest pyenv CPython of `prefix` ("3.9": 3.9.x; "3": any 3.x), or nothing.
pyenv_python() {
    root=$(pyenv root 2>/dev/null) || return 0
    v=$(ls "$root/versions" 2>/dev/null | grep -E "^$1(\.[0-9]+)+$" | sort -V | tail -n 1)
    [ -n "$v" ] && [ -x "$root/versions/$v/bin/python3" ] && echo "$root/versions/$v/bin/python3"
    return 0
}

check() {
    py=$1
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$py" -m venv "$tmp/venv"
    "$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel"
    "$tmp/venv/bin/svccore" validate -q -f "$EXAMPLE" >/dev/null
    "$tmp/venv/bin/kubectl-svccore" --version >/dev/null
    "$tmp/venv/bin/python" -m svccore endpoints -f "$EXAMPLE" >/dev/null
    "$tmp/venv/bin/python" -c "
import sys, svccore
c = svccore.Cluster.from_files(['$EXAMPLE'])
t = c.trace(node='master', src='192.168.100.9', dst='10.101.135.10:80', source='external')
assert t.outcomes[0].cause.endswith('node master has no local endpoint'), t.outcomes[0].cause
print('wheel: CPython %d.%d.%d:' % sys.version_info[:3], svccore.__version__, 'installs and runs')
"
    rm -rf "$tmp"
    trap - EXIT
}

check "$PYTHON"
for want in "$oldest" 3; do
    py=$(pyenv_python "$want")
    if [ -n "$py" ]; then
        check "$py"
    else
        echo "wheel: no pyenv CPython $want here; skipped"
    fi
done
