//! Python bindings of svccore: the private native module `svccore._svccore`, re-exported by
//! the `svccore` package (`python/svccore/__init__.py`).
//!
//! Thin by design: each wrapper converts arguments, calls the core, converts the result, and
//! maps core errors to exceptions in one place (`errors::to_py_err`). Every entry point runs
//! under `errors::guard`, so a Rust panic surfaces as `SvcCoreError("internal error: ...")`.
//!
//! To add a `Cluster` method: write it in `cluster.rs` as `guard(|| ...)` around a core call,
//! give it a docstring with a `>>>` example (the tests run them), and declare it in
//! `python/svccore/_svccore.pyi` (stubtest checks the two agree).

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use svccore::proxier::config::{SettingsFlags, SETTINGS_FILE_MODES};

mod cluster;
mod config;
mod convert;
mod errors;
mod proxy;
mod select;
mod tracers;
mod types;

/// Rust's allocations in the extension go to mimalloc: glibc's malloc spends more on a trace's
/// small allocations than the walk does (the workspace's Cargo.toml says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Raises ``SvcCoreError("internal error: ...")`` through the panic guard; only for tests.
#[pyfunction]
fn _panic_for_tests() -> PyResult<()> {
    errors::guard(|| panic!("deliberate panic for tests"))
}

#[pymodule]
fn _svccore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The core's name lists, for argument choices (the command line) and documentation.
    let algorithms: Vec<&str> = svccore::select::Algorithm::ALL
        .iter()
        .map(|a| a.name())
        .collect();
    m.add("ALGORITHMS", PyTuple::new(m.py(), algorithms)?)?;
    let schedulers = svccore::select::ipvs::SCHEDULER_NAMES;
    m.add("IPVS_SCHEDULERS", PyTuple::new(m.py(), schedulers)?)?;
    m.add("PROXIER_FLAGS", PyTuple::new(m.py(), SettingsFlags::NAMES)?)?;
    // Which flag (and the settings file, `proxier_settings`) each mode takes.
    let modes = pyo3::types::PyDict::new(m.py());
    let settings_file = ("proxier_settings", SETTINGS_FILE_MODES);
    for (name, ms) in SettingsFlags::MODES.into_iter().chain([settings_file]) {
        let ms: Vec<&str> = ms.iter().map(|x| x.as_str()).collect();
        modes.set_item(name, PyTuple::new(m.py(), ms)?)?;
    }
    m.add("PROXIER_FLAG_MODES", modes)?;
    m.add(
        "PROTOCOLS",
        PyTuple::new(m.py(), svccore::packet::PROTOCOL_NAMES)?,
    )?;
    let trace_modes: Vec<&str> = svccore::packet::TRACE_MODES
        .iter()
        .map(|m| m.as_str())
        .collect();
    m.add("TRACE_MODES", PyTuple::new(m.py(), trace_modes)?)?;
    m.add(
        "TRAFFIC_SOURCES",
        PyTuple::new(m.py(), svccore::trace::Origin::NAMES)?,
    )?;
    errors::register(m)?;
    m.add_class::<cluster::PyCluster>()?;
    m.add_class::<config::PyProxyConfig>()?;
    m.add_class::<types::PyIssue>()?;
    m.add_class::<types::PyService>()?;
    m.add_class::<types::PyServicePort>()?;
    m.add_class::<types::PySummary>()?;
    m.add_class::<types::PyEndpointsReport>()?;
    m.add_class::<select::PyBalancer>()?;
    m.add_class::<select::PySimulationReport>()?;
    m.add_class::<proxy::PyProxierSettings>()?;
    m.add_class::<proxy::PyTraceResult>()?;
    m.add_class::<proxy::PyTraceOutcome>()?;
    m.add_class::<proxy::PyAuditReport>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
