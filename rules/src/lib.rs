//! kiltx's detection engine: Falco's rule language evaluated over the events
//! `kiltx-tracer` emits, with alerts in Falco's JSON format.
pub mod condition;
