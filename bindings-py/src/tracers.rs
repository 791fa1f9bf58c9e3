//! The tracers a `Cluster` has built: the node's rules rendered and read once per node, mode,
//! family and settings, so that repeated traces on the same node cost a walk of the rules, not
//! a render. A `Cluster` never changes (frozen, no method mutates it), so an entry stays right
//! for the object's lifetime and needs no invalidation.

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use svccore::proxier::config::{ProxierSettings, ProxyMode};
use svccore::trace::NodeTracer;

use crate::errors::core;

/// How many tracers a cluster keeps. A 10,000-service node's tracer holds its whole rule set,
/// so the cache stays small: the most recently used entries of a script that walks a few
/// nodes in each mode.
const CAPACITY: usize = 4;

#[derive(Debug, Default)]
struct Entries {
    /// Most recently used last.
    tracers: Vec<(ProxyMode, ProxierSettings, Arc<NodeTracer>)>,
    builds: u64,
    hits: u64,
}

/// A cluster's tracers, shared by its clones (they hold the same objects).
#[derive(Clone, Debug, Default)]
pub(crate) struct TracerCache(Arc<Mutex<Entries>>);

impl TracerCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while the lock was held leaves the list consistent (every change is one
        // push or remove): keep using it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tracer of `mode` with `settings` on `cluster`, built (without the GIL) on a miss.
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        cluster: &svccore::Cluster,
        mode: ProxyMode,
        settings: &ProxierSettings,
    ) -> PyResult<Arc<NodeTracer>> {
        {
            let mut e = self.entries();
            if let Some(i) = e
                .tracers
                .iter()
                .position(|(m, s, _)| *m == mode && s == settings)
            {
                let entry = e.tracers.remove(i);
                let tracer = Arc::clone(&entry.2);
                e.tracers.push(entry);
                e.hits += 1;
                return Ok(tracer);
            }
        }
        // Built without the lock: another thread tracing meanwhile waits for neither; two
        // threads missing together both build, and the second entry replaces nothing wrong.
        let tracer = Arc::new(core(
            py.detach(|| NodeTracer::new(mode, cluster, settings)),
        )?);
        let mut e = self.entries();
        e.builds += 1;
        if !e
            .tracers
            .iter()
            .any(|(m, s, _)| *m == mode && s == settings)
        {
            if e.tracers.len() == CAPACITY {
                e.tracers.remove(0);
            }
            e.tracers
                .push((mode, settings.clone(), Arc::clone(&tracer)));
        }
        Ok(tracer)
    }

    /// `(builds, hits)` so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let e = self.entries();
        (e.builds, e.hits)
    }
}
