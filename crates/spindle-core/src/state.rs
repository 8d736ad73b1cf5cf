//! Lifecycle as typed data: what a worker and the whole server are doing. Defined with the
//! management API's types (`spindle-api`), since status and the CLI show them as they are;
//! their `Unknown` is what a newer server might send an older CLI, never made here.

pub use spindle_api::{Phase, WorkerState};
