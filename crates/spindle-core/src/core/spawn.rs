//! Start-up, step three: what was built starts running, on the core's runtime (the data
//! plane, the mesh, the supervisor) and on threads of its own (admin, dev watcher).

use std::sync::{Arc, Mutex};

use super::build::{Built, Ingress};
use super::{Core, StartError};
use crate::ingress;

pub(super) fn spawn(built: Built) -> Result<Arc<Core>, StartError> {
    let Built {
        mut core,
        runtime,
        wiring,
        mesh,
        admin,
        control,
        ingress,
        supervisor,
        events,
        mut stop_requests,
        watched,
    } = built;
    for socket in mesh {
        wiring.serve(socket);
    }
    // Probes, metrics and the management API answer all through the graceful shutdown:
    // they stop at `close`.
    crate::admin::spawn(admin, control, core.closing.subscribe()).map_err(StartError::Runtime)?;
    if let Some(apps) = watched {
        crate::watch::spawn(apps, core.events.clone()).map_err(StartError::Runtime)?;
    }

    let drain = core.drain.subscribe();
    if let Some(tls) = &core.tls {
        runtime.spawn(crate::tls::watch_files(tls.clone(), drain.clone()));
    }
    let Ingress {
        listener,
        route,
        settings,
        max_connections,
        deadline,
    } = ingress;
    let tls = core.tls.clone();
    let ingress_task = runtime.spawn(async move {
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => {
                ingress::serve(
                    listener,
                    route,
                    tls,
                    settings,
                    max_connections,
                    drain,
                    deadline,
                )
                .await
            }
            Err(err) => {
                tracing::error!(error = %err, "ingress listener unusable");
                true
            }
        }
    });
    core.ingress_task = Mutex::new(Some(ingress_task));

    let supervising = runtime.spawn(supervisor.run(events));
    runtime.spawn(watch_supervisor(supervising, |why| {
        // Without its supervisor the process would serve on with nobody replacing a
        // failed worker: better to exit and let the orchestrator start a new one.
        tracing::error!(error = %why, "the supervisor panicked; exiting");
        eprintln!("spindle: error: the supervisor panicked ({why}); exiting");
        std::process::exit(70);
    }));

    let handle = runtime.handle().clone();
    core.runtime = Mutex::new(Some(runtime));
    let core = Arc::new(core);
    // `spindle stop` asks through the management API; the sequence is the signal's.
    let weak = Arc::downgrade(&core);
    handle.spawn(async move {
        if stop_requests.recv().await.is_some() {
            if let Some(core) = weak.upgrade() {
                core.shutdown();
            }
        }
    });
    Ok(core)
}

/// Calls `on_panic` with the panic's message if the supervisor task panics.
async fn watch_supervisor(task: tokio::task::JoinHandle<()>, on_panic: impl FnOnce(String)) {
    if let Err(err) = task.await {
        if err.is_panic() {
            let payload = err.into_panic();
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            on_panic(why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::watch_supervisor;

    #[tokio::test]
    async fn a_panicking_supervisor_is_reported() {
        let task = tokio::spawn(async { panic!("table out of step") });
        let (tx, rx) = std::sync::mpsc::channel();
        watch_supervisor(task, move |why| tx.send(why).unwrap()).await;
        assert_eq!(rx.try_recv().unwrap(), "table out of step");
    }

    #[tokio::test]
    async fn a_supervisor_that_returns_is_not() {
        let task = tokio::spawn(async {});
        watch_supervisor(task, |why| panic!("reported {why}")).await;
    }
}
