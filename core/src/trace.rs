//! Trace a packet through the rendered rules.
