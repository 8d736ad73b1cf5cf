//! The graceful shutdown: readiness goes false, the public port stops accepting and
//! drains, then every worker is stopped, and the thread factory is told to exit. The
//! admin port, the management API and the mesh keep serving all through it (probes
//! answer, draining workers still call each other); they stop at [`Core::close`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Core;
use crate::supervisor::Event;
use crate::Phase;

/// Extra time, beyond `gracefulShutdown.application`, for the thread factory to report
/// that a terminated worker is gone.
const EXIT_REPORT_MARGIN: Duration = Duration::from_secs(2);

impl Core {
    /// Starts the graceful shutdown (once; later calls do nothing): readiness goes false,
    /// the ingress stops accepting and drains, then every worker is stopped, and finally
    /// the thread factory is told to exit, with 0 when everything finished in time.
    pub fn shutdown(self: &Arc<Self>) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let core = self.clone();
        let runtime = crate::sync::lock(&self.runtime);
        let Some(runtime) = runtime.as_ref() else {
            return;
        };
        runtime.spawn(async move {
            let code = core.shutdown_sequence().await;
            core.logs.flush();
            core.host.exit(code);
        });
    }

    async fn shutdown_sequence(&self) -> i32 {
        let _ = self.events.send(Event::BeginShutdown);
        let _ = self.drain.send(true);
        let task = crate::sync::lock(&self.ingress_task).take();
        let drained = match task {
            Some(task) => task.await.unwrap_or(false),
            None => true,
        };
        if !drained {
            tracing::warn!("requests still in flight at the gracefulShutdown.runtime deadline");
        }
        let _ = self.events.send(Event::StopWorkers {
            grace: self.application_grace,
        });
        let mut status = self.status.clone();
        let stopped = tokio::time::timeout(
            self.application_grace + EXIT_REPORT_MARGIN,
            status.wait_for(|s| s.phase == Phase::Stopped),
        )
        .await
        .is_ok();
        if !stopped {
            tracing::warn!("workers still running after the gracefulShutdown.application deadline");
        }
        if let Some(telemetry) = self.telemetry.clone() {
            // The last export blocks: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
        }
        tracing::info!(clean = drained && stopped, "stopped");
        if drained && stopped {
            0
        } else {
            1
        }
    }

    /// Stops the listeners still serving (admin, management API, mesh) and the runtime's
    /// threads, and removes the socket directory. Call last, right before the process
    /// exits.
    pub fn close(&self) {
        let _ = self.closing.send(true);
        self.mesh_listeners.close_all();
        if let Some(runtime) = crate::sync::lock(&self.runtime).take() {
            runtime.shutdown_background();
        }
        crate::rundir::remove(&self.rundir);
        self.logs.flush();
    }
}
