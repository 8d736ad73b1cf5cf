//! The worker's side of its pipe, called by `js/vconn.js` on every request and every
//! write. Plain functions on the calling thread's pipe rather than methods: a method
//! call on a `#[napi]` object unwraps and registers a borrow of it, which cost more than
//! the call's work (perf, docs/benchmarks.md).

use std::cell::RefCell;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use spindle_core::datapath::pipe::Pipe;

thread_local! {
    /// This worker thread's pipe, from its WorkerLink until its environment is torn down.
    static PIPE: RefCell<Option<Arc<Pipe>>> = const { RefCell::new(None) };
}

pub fn set_pipe(pipe: Option<Arc<Pipe>>) {
    PIPE.with_borrow_mut(|slot| *slot = pipe);
}

fn with_pipe<R>(f: impl FnOnce(&Pipe) -> R) -> Option<R> {
    PIPE.with_borrow(|pipe| pipe.as_deref().map(f))
}

/// Everything the core queued for this worker since the last call (records, see
/// `js/vconn.js`), or null.
#[napi(catch_unwind)]
pub fn vconn_take(env: &Env) -> Result<Option<BufferSlice<'_>>> {
    let Some(Some(records)) = with_pipe(|p| p.take()) else {
        return Ok(None);
    };
    let buffer = BufferSlice::copy_from(env, &records);
    with_pipe(|p| p.recycle(records));
    buffer.map(Some)
}

/// Bytes the app wrote on virtual connection `conn`; false asks it to wait for a drained
/// record before writing more.
#[napi(catch_unwind)]
pub fn vconn_send(conn: u32, chunk: BufferSlice) -> bool {
    with_pipe(|p| p.worker_wrote(conn, &chunk)).unwrap_or(true)
}

/// The app ended its side of `conn`.
#[napi(catch_unwind)]
pub fn vconn_end(conn: u32) {
    with_pipe(|p| p.worker_end(conn));
}

/// `conn` was destroyed on the worker's side.
#[napi(catch_unwind)]
pub fn vconn_closed(conn: u32) {
    with_pipe(|p| p.worker_closed(conn));
}

/// The app holds enough unread input on `conn`: send no more until `vconn_resume`.
#[napi(catch_unwind)]
pub fn vconn_pause(conn: u32) {
    with_pipe(|p| p.pause(conn));
}

#[napi(catch_unwind)]
pub fn vconn_resume(conn: u32) {
    with_pipe(|p| p.resume(conn));
}

/// The worker is done with what it took: true when more came meanwhile (take it on the
/// next loop turn), false when it rests until woken.
#[napi(catch_unwind)]
pub fn vconn_rest() -> bool {
    with_pipe(|p| p.rest()).unwrap_or(false)
}
