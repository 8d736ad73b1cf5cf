//! The fixtures' trigger lines: before `chaos` or `mesh-api` crashes, hangs or runs out of
//! memory on request, it logs `{"msg":"<fixture> trigger","action":…}`, which Spindle
//! labels with the worker's id. That is how a test learns which worker a trigger hit.

use crate::logs::LogLine;
use crate::running::Running;
use crate::STEP_TIMEOUT;

/// The first `"<fixture> trigger"` line of `action` from line `mark` on, and the worker it
/// names; fails the test when none comes or it names no worker.
pub async fn wait_trigger(
    server: &Running,
    mark: usize,
    fixture: &str,
    action: &str,
) -> (LogLine, String) {
    let msg = format!("{fixture} trigger");
    let line = server
        .wait_log_since(
            mark,
            |line| line.msg() == Some(msg.as_str()) && line.str("action") == Some(action),
            STEP_TIMEOUT,
        )
        .await;
    let Some(worker) = line.str("worker").map(str::to_string) else {
        server.fail(&format!("the trigger line names no worker: {}", line.text))
    };
    (line, worker)
}
