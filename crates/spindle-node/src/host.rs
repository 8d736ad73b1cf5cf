//! The JS main thread as the core's thread factory.

use std::time::Duration;

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use serde::Serialize;
use spindle_core::{WorkerHost, WorkerId, WorkerSpec};

/// What the core asks of the JS main thread, as the JSON `js/main.js` switches on (`op`
/// names the command; `run()` there has one case per variant).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum Command<'a> {
    Spawn {
        spec: &'a WorkerSpec,
    },
    #[serde(rename_all = "camelCase")]
    Stop {
        id: String,
        grace_ms: u64,
    },
    Terminate {
        id: String,
    },
    Exit {
        code: i32,
    },
}

pub struct JsHost {
    call: ThreadsafeFunction<String, (), String, Status, false>,
}

impl JsHost {
    pub fn new(call: ThreadsafeFunction<String, (), String, Status, false>) -> JsHost {
        JsHost { call }
    }

    fn send(&self, command: Command<'_>) {
        let json = match serde_json::to_string(&command) {
            Ok(json) => json,
            Err(err) => {
                tracing::error!(error = %err, ?command, "cannot encode a command for the thread factory");
                return;
            }
        };
        // Non-blocking: a core thread must never wait on the JS thread. The queue is
        // unbounded, so this only fails once the function is closing (process exit).
        let status = self
            .call
            .call(json, ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
            tracing::debug!(?status, "thread factory unreachable");
        }
    }
}

impl WorkerHost for JsHost {
    fn spawn(&self, spec: &WorkerSpec) {
        self.send(Command::Spawn { spec });
    }

    fn stop(&self, id: &WorkerId, grace: Duration) {
        self.send(Command::Stop {
            id: id.to_string(),
            grace_ms: grace.as_millis() as u64,
        });
    }

    fn terminate(&self, id: &WorkerId) {
        self.send(Command::Terminate { id: id.to_string() });
    }

    fn exit(&self, code: i32) {
        self.send(Command::Exit { code });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire `js/main.js` reads: `op` and camelCase fields.
    #[test]
    fn commands_are_the_json_the_thread_factory_switches_on() {
        let json = |c: Command<'_>| serde_json::to_string(&c).unwrap();
        assert_eq!(
            json(Command::Stop {
                id: "web:1".into(),
                grace_ms: 1500
            }),
            r#"{"op":"stop","id":"web:1","graceMs":1500}"#
        );
        assert_eq!(
            json(Command::Terminate { id: "web:1".into() }),
            r#"{"op":"terminate","id":"web:1"}"#
        );
        assert_eq!(
            json(Command::Exit { code: 70 }),
            r#"{"op":"exit","code":70}"#
        );
    }
}
