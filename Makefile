# svccore: one Makefile for developers and CI (.ci/run calls `make test`).
# Every target sets up what it needs; `make help` lists them.
#
# Cargo and maturin honour CARGO_TARGET_DIR (default: ./target).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
VBIN := $(VENV)/bin
VPY := $(VBIN)/python
WASM_TARGET := wasm32-unknown-unknown

# What a change to triggers a new wheel.
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find core bindings-py/src bindings-py/Cargo.toml -name '*.rs' -o -name Cargo.toml)
PY_SOURCES := bindings-py/pyproject.toml bindings-py/README.md $(shell find bindings-py/python -type f -not -name '*.so' -not -path '*/__pycache__/*')

STAMP_BUILD_VENV := $(VENV)/.build-deps-installed
STAMP_VENV := $(VENV)/.deps-installed
STAMP_WHEEL := dist/.built
STAMP_INSTALLED := $(VENV)/.svccore-installed

VALID_EXAMPLE := examples/nginx-study.yaml

.PHONY: help setup setup-rust setup-system setup-venv dev wheel install demo test lint \
	lint-rust lint-python test-rust check-wasm check-core-deps test-python stubtest test-wheel test-kernel \
	bench bench-rust bench-python fmt clean test-cross fuzz fuzz-setup test-fuzz test-scaling

help: ## Show this help
	@echo "usage: make TARGET"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

# --- setup (idempotent: installs only what is missing) ---------------------------------------

setup: setup-rust setup-system setup-venv ## Install everything missing (Rust target, Debian packages, .venv)

setup-rust: ## rustup: the wasm32 target, rustfmt and clippy
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

setup-system: ## Debian packages iptables, nftables, iproute2, ipset (kernel tests), binaryen (wasm-opt), valgrind (scaling test), kubectl (plugin test), when missing
	@missing=""; \
	for bin in iptables nft ip ipset wasm-opt valgrind kubectl; do \
		PATH="$$PATH:/usr/sbin:/sbin" command -v $$bin >/dev/null || missing="$$missing $$bin"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing iptables nftables iproute2 ipset binaryen valgrind kubectl (missing:$$missing)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq iptables nftables iproute2 ipset binaryen valgrind; \
			command -v kubectl >/dev/null || apt-get install -y -qq kubectl \
				|| echo "no kubectl package here: the kubectl plugin test is skipped"; \
		else \
			echo "warning: missing$$missing; run 'sudo make setup-system' for the kernel tests"; \
		fi; \
	fi

setup-venv: $(STAMP_VENV) ## A .venv with the pinned tools (maturin, pytest, mypy, ruff)

# What building the wheel needs (maturin, at the version requirements-dev.txt pins): all that
# `make demo` installs into .venv.
$(STAMP_BUILD_VENV): bindings-py/requirements-dev.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check \
		"$$(grep -E '^maturin==' bindings-py/requirements-dev.txt)"
	@touch $@

$(STAMP_VENV): bindings-py/requirements-dev.txt $(STAMP_BUILD_VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r bindings-py/requirements-dev.txt
	@touch $@

# --- build -----------------------------------------------------------------------------------

wheel: $(STAMP_WHEEL) ## Build the release wheel (abi3, CPython >= 3.10) into dist/

$(STAMP_WHEEL): $(STAMP_BUILD_VENV) $(RUST_SOURCES) $(PY_SOURCES)
	@mkdir -p dist && rm -f dist/svccore-*.whl
	$(VBIN)/maturin build --release --manifest-path bindings-py/Cargo.toml --out dist
	@touch $@

install: $(STAMP_INSTALLED) ## Install the wheel into .venv (what demo and the Python tests use)

$(STAMP_INSTALLED): $(STAMP_WHEEL)
	$(VPY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps dist/svccore-*.whl
	@touch $@

dev: setup-venv ## Editable debug build into .venv (maturin develop), for quick iteration
	cd bindings-py && ../$(VBIN)/maturin develop
	@rm -f $(STAMP_INSTALLED)

# --- demo ------------------------------------------------------------------------------------

demo: install ## The main job on examples/ (installs only maturin and the package into .venv)
	SVCCORE=$(abspath $(VBIN)/svccore) scripts/demo.sh

# --- fuzzing ---------------------------------------------------------------------------------

FUZZ_SECONDS ?= 300
FUZZ_TARGETS := loader_json loader_yaml loader_typed loader_typed_mutate yaml_subset iptables_dump nft_listing audit_dump

fuzz-setup: ## Installs cargo-fuzz (nightly is needed for the sanitizer build)
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

fuzz: fuzz-setup ## Every cargo-fuzz target for FUZZ_SECONDS each (default 300); figures in fuzz/README.md
	fuzz/seed.sh
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		(cd fuzz && cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10) || exit 1; \
	done

# Nothing from the text to the rules is quadratic: each stage's instructions (callgrind) at 1x,
# 4x and 16x a generated cluster may grow at most 24x.
test-scaling: setup-system ## Load, validate and every renderer grow linearly: instruction counts at 1x/4x/16x (valgrind)
	cargo build --release -p svccore --example scale_probe
	$(PYTHON) tests/scaling/run.py $(abspath $(or $(CARGO_TARGET_DIR),target))/release/examples/scale_probe 200

# The smoke run of `make test`: every target for FUZZ_SMOKE_SECONDS from the seeds alone, in a
# build directory of its own (a long `make fuzz` may be using fuzz/target).
FUZZ_SMOKE_SECONDS ?= 6
FUZZ_SMOKE_DIR := $(abspath target/fuzz-smoke)

test-fuzz: fuzz-setup ## Each fuzz target for FUZZ_SMOKE_SECONDS (6 s) from fresh seeds, with AddressSanitizer
	rm -rf $(FUZZ_SMOKE_DIR)/corpus
	FUZZ_CORPUS=$(FUZZ_SMOKE_DIR)/corpus fuzz/seed.sh
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t ($(FUZZ_SMOKE_SECONDS) s)"; \
		(cd fuzz && cargo +nightly fuzz run --target-dir $(FUZZ_SMOKE_DIR)/build $$t $(FUZZ_SMOKE_DIR)/corpus/$$t \
			-- -max_total_time=$(FUZZ_SMOKE_SECONDS) -rss_limit_mb=2048 -timeout=10 2>&1 | grep -E '^(Done|==|INFO: seed corpus)|ERROR|panicked|SUMMARY'; \
			exit $${PIPESTATUS[0]}) || exit 1; \
	done

# --- tests -----------------------------------------------------------------------------------

test: setup lint test-rust check-wasm check-core-deps test-python stubtest test-wheel test-kernel test-wasm test-web test-cross test-scaling test-fuzz ## Everything CI runs
	@echo "make test: all passed"

lint: lint-rust lint-python ## cargo fmt --check, clippy -D warnings, ruff, mypy --strict

lint-rust: setup-rust
	cargo fmt --all --check
	@# svccore-wasm only builds for wasm32; every other crate (bindings-py too) is linted here.
	cargo clippy --workspace --exclude svccore-wasm --all-targets -- -D warnings

lint-python: setup-venv
	cd bindings-py && ../$(VBIN)/ruff check python tests examples ../benches/python ../tests/cross
	cd bindings-py && ../$(VBIN)/ruff format --check python tests examples ../benches/python ../tests/cross
	cd bindings-py && ../$(VBIN)/mypy python tests examples ../benches/python ../tests/cross

test-rust: ## cargo test of the default members (core, benches)
	cargo test

check-wasm: setup-rust ## The core builds for wasm32-unknown-unknown
	cargo build -p svccore --target $(WASM_TARGET)

check-core-deps: ## The core's dependency tree has neither pyo3 nor wasm-bindgen
	@if cargo tree -p svccore -e normal --target all --prefix none | grep -E '^(pyo3|wasm-bindgen)'; then \
		echo "error: the svccore core must not depend on pyo3 or wasm-bindgen" >&2; exit 1; \
	else echo "core dependency tree: no pyo3, no wasm-bindgen"; fi

test-python: setup-venv install ## pytest (strict) against the installed wheel
	cd bindings-py && ../$(VPY) -m pytest

stubtest: setup-venv install ## mypy stubtest: the .pyi stubs match the built module
	cd bindings-py && ../$(VPY) -m mypy.stubtest svccore

test-kernel: setup-system ## iptables, nftables and ipset rules loaded and exercised in network namespaces (root)
	@# Real kernel: every conformance case and example loaded with iptables-restore and compared
	@# with iptables-save; a small node with TCP servers behind ClusterIP, NodePort, external IP.
	$(PYTHON) tests/kernel/test_iptables.py
	@# nftables mode: every case and example loaded with nft -f and compared with nft list table;
	@# the same small node with the nftables rules instead.
	$(PYTHON) tests/kernel/test_nftables.py
	@# userspace mode: the portal rules loaded and compared with iptables-save; connections to
	@# cluster, external, LB IPs and node ports reach a stand-in proxy on the right port.
	$(PYTHON) tests/kernel/test_userspace.py
	@# ipvs mode: ipset restore and the ipvs-mode iptables payload (the ip_vs module is missing).
	$(PYTHON) tests/ipvs/test_netns.py

test-wheel: wheel ## Install the wheel into fresh venvs (python3, pyenv's oldest declared and newest CPython) and run it
	PYTHON=$(PYTHON) EXAMPLE=$(VALID_EXAMPLE) scripts/test-wheel.sh

# --- other -----------------------------------------------------------------------------------

bench: bench-rust bench-python ## All benchmarks (figures in benches/README.md)

bench-rust: ## criterion benchmarks: selection; loading; iptables, IPVS and nftables rendering; audits; traces
	cargo bench -p svccore-benches
	cargo bench -p svccore-benches --features mimalloc --bench trace --bench load

bench-python: install ## Python API: Balancer.pick, pick_many, Cluster.from_manifests; loading and the whole command against json.load
	$(VPY) benches/python/bench_python.py
	cargo run --release -q -p svccore-benches --example gen_cluster -- 10000 10 > target/bench-10k-x10.json
	cargo run --release -q -p svccore-benches --example gen_cluster -- 10000 10 yaml > target/bench-10k-x10.yaml
	$(VPY) -c 'import sys; sys.path.insert(0, "benches/python"); from generated import cluster_json; print(cluster_json(10000, nodes=3))' > target/lean-10k.json
	$(VPY) benches/python/bench_load.py target/bench-10k-x10.json target/lean-10k.json target/bench-10k-x10.yaml
	$(VPY) benches/python/bench_cli.py target/lean-10k.json target/bench-10k-x10.json --node node-1

fmt: setup-venv ## Format Rust and Python sources
	cargo fmt --all
	cd bindings-py && ../$(VBIN)/ruff format python tests && ../$(VBIN)/ruff check --fix python tests

clean: ## Remove dist/ and .venv (cargo's target directory is left alone)
	rm -rf dist $(VENV)

# WebAssembly bindings, the playground (`make web`) and their node/browser tests. The browser
# test compares the page's simulation with the Python API's, run by this interpreter.
SVCCORE_PYTHON := $(abspath $(VPY))
test-web: install
include mk/wasm.mk

# The same table of calls (tests/cross/calls.json: traces, endpoints, settings) through the core
# (its cross_language example), Python (the installed wheel) and the WebAssembly module for
# Node.js; the answers must be equal.
CROSS_CORE := $(abspath $(or $(CARGO_TARGET_DIR),target))/debug/examples/cross_language

test-cross: install wasm-node ## The core, Python and WebAssembly give the same answers (tests/cross)
	cargo build -p svccore --example cross_language
	cd tests/cross && SVCCORE_CROSS_CORE=$(CROSS_CORE) SVCCORE_PYTHON=$(SVCCORE_PYTHON) \
		SVCCORE_WASM_NODE_PKG=$(abspath $(WASM_NODE_PKG)) node --test cross.test.mjs
