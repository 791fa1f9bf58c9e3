# mk/wasm.mk: the WebAssembly binding (bindings-wasm) and the browser playground (web-demo).
#
# Included by the main Makefile (`include mk/wasm.mk`), or used alone: `make -f mk/wasm.mk web`.
# Every target installs what it needs, idempotently: the wasm32 target, wasm-bindgen-cli of
# exactly the version pinned in Cargo.toml, Debian's chromium, and the test's npm packages
# (playwright-core only: it drives /usr/bin/chromium and never downloads a browser).

PORT ?= 8000
WASM_CARGO_TARGET := $(or $(CARGO_TARGET_DIR),target)
WASM_ARTIFACT := $(WASM_CARGO_TARGET)/wasm32-unknown-unknown/wasm-release/svccore_wasm.wasm
# The CLI must match the crate exactly; the pin in Cargo.toml is the one source of truth.
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
WASM_OPTIMIZED := target/wasm-opt/svccore_wasm.wasm
WASM_WEB_PKG := web-demo/pkg
WASM_NODE_PKG := target/wasm-node
WEB_TEST_DIR := tests/web
WASM_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# wasm-opt (Debian's binaryen) when present: ~15% smaller. Optional, so skipped when absent.
# Recursive (=): evaluated when used, so a binaryen installed by `make setup` in the same run counts.
WASM_OPT = $(shell command -v wasm-opt 2>/dev/null)
WASM_OPT_FLAGS := -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	--enable-mutable-globals --enable-reference-types --enable-multivalue

.PHONY: wasm wasm-build wasm-node web test-wasm test-web wasm-toolchain web-browser web-test-deps web-trace-example

wasm-toolchain:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (a few minutes)"; \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

# Always runs cargo (it knows what changed); the other steps take seconds. wasm-opt runs on
# rustc's output, before wasm-bindgen: binaryen 108 (Debian 12) mistypes the externref table
# wasm-bindgen adds, so optimizing after bindgen yields a module browsers refuse.
wasm-build: wasm-toolchain
	cargo build -p svccore-wasm --target wasm32-unknown-unknown --profile wasm-release
	@mkdir -p $(dir $(WASM_OPTIMIZED))
	@if [ -f $(WASM_OPTIMIZED) ] && [ ! $(WASM_ARTIFACT) -nt $(WASM_OPTIMIZED) ]; then :; \
	elif [ -n "$(WASM_OPT)" ]; then \
		echo "wasm-opt -Oz $(WASM_ARTIFACT)"; \
		$(WASM_OPT) $(WASM_OPT_FLAGS) -o $(WASM_OPTIMIZED) $(WASM_ARTIFACT); \
	else \
		echo "wasm-opt not found (apt-get install binaryen): shipping without its size pass"; \
		cp $(WASM_ARTIFACT) $(WASM_OPTIMIZED); \
	fi

wasm: wasm-build ## Build the WebAssembly module into web-demo/pkg (ES module, --target web)
	wasm-bindgen --target web --out-name svccore_wasm --out-dir $(WASM_WEB_PKG) $(WASM_OPTIMIZED)
	node web-demo/bundle-examples.mjs examples tests/bad-manifests $(WASM_WEB_PKG)/examples
	@echo "$(WASM_WEB_PKG)/svccore_wasm_bg.wasm: $$(wc -c < $(WASM_WEB_PKG)/svccore_wasm_bg.wasm) bytes, $$(gzip -9c $(WASM_WEB_PKG)/svccore_wasm_bg.wasm | wc -c) gzipped"

wasm-node: wasm-build ## Build the same module for Node.js into target/wasm-node (for test-wasm)
	wasm-bindgen --target nodejs --out-name svccore_wasm --out-dir $(WASM_NODE_PKG) $(WASM_OPTIMIZED)

web: wasm ## Serve the playground on http://127.0.0.1:$(PORT) until stopped (PORT=8000)
	@echo "playground: http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	cd web-demo && python3 -m http.server $(PORT) --bind 127.0.0.1

test-wasm: wasm wasm-node ## Node test of every wasm export, its errors, and the size budget
	cd $(WEB_TEST_DIR) && SVCCORE_WASM_NODE_PKG=$(abspath $(WASM_NODE_PKG)) \
		SVCCORE_WASM_WEB_PKG=$(abspath $(WASM_WEB_PKG)) node --test wasm.test.mjs locate.test.mjs

web-browser:
	@test -x /usr/bin/chromium || { $(WASM_SUDO) apt-get update && $(WASM_SUDO) apt-get install -y chromium; }

$(WEB_TEST_DIR)/node_modules/.package-lock.json: $(WEB_TEST_DIR)/package.json $(WEB_TEST_DIR)/package-lock.json
	cd $(WEB_TEST_DIR) && npm ci --no-audit --no-fund

web-test-deps: web-browser $(WEB_TEST_DIR)/node_modules/.package-lock.json

# test-web compares the page's numbers with references: the simulation with Python's
# Cluster.simulate, run by SVCCORE_PYTHON (an interpreter with svccore installed; the main
# Makefile passes $(abspath .venv/bin/python); the test fails, saying so, when it is empty), and
# the trace with the core's render_iptables example, built here.
SVCCORE_PYTHON ?=
WEB_TRACE_EXAMPLE := $(abspath $(WASM_CARGO_TARGET))/debug/examples/render_iptables

web-trace-example:
	cargo build -p svccore --example render_iptables

test-web: wasm web-test-deps web-trace-example ## The playground in headless Chromium: every view, errors, node picker, parity with Python and the core, timings, screenshots (SVCCORE_PYTHON=...)
	cd $(WEB_TEST_DIR) && SVCCORE_WEB_ROOT=$(abspath web-demo) \
		SVCCORE_SCREENSHOTS=$(abspath target/web-screenshots) \
		SVCCORE_PYTHON="$(SVCCORE_PYTHON)" SVCCORE_TRACE_EXAMPLE=$(WEB_TRACE_EXAMPLE) \
		node --test browser.test.mjs
