//! The JS main thread as the core's thread factory.

use std::time::Duration;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use serde_json::json;
use spindle_core::{WorkerHost, WorkerId, WorkerSpec};

pub struct JsHost {
    call: ThreadsafeFunction<String, (), String, Status, false>,
}

impl JsHost {
    pub fn new(call: ThreadsafeFunction<String, (), String, Status, false>) -> JsHost {
        JsHost { call }
    }

    fn send(&self, command: serde_json::Value) {
        // Non-blocking: a core thread must never wait on the JS thread. The queue is
        // unbounded, so this only fails once the function is closing (process exit).
        let status = self
            .call
            .call(command.to_string(), ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
            tracing::debug!(?status, "thread factory unreachable");
        }
    }
}

impl WorkerHost for JsHost {
    fn spawn(&self, spec: &WorkerSpec) {
        self.send(json!({"op": "spawn", "spec": spec}));
    }

    fn stop(&self, id: &WorkerId, grace: Duration) {
        self.send(json!({"op": "stop", "id": id.to_string(), "graceMs": grace.as_millis() as u64}));
    }

    fn terminate(&self, id: &WorkerId) {
        self.send(json!({"op": "terminate", "id": id.to_string()}));
    }

    fn exit(&self, code: i32) {
        self.send(json!({"op": "exit", "code": code}));
    }
}
