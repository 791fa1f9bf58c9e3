//! WebAssembly bindings (filled by the wasm work).
