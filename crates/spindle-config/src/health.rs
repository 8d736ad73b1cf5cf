//! Validated health and fault-handling settings of one application (the top-level values
//! deep-merged with the application's own).

use std::time::Duration;

use serde::Serialize;

/// How a worker's health is judged from outside. Watt's keys plus `sampleInterval` and
/// `maxStall`, with defaults chosen to replace a stuck worker within about a second and a
/// degraded one within seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthConfig {
    /// Judge health at all (stall, ELU and heap rules).
    pub enabled: bool,
    /// How often the core samples each worker's loop and heap.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub sample_interval: Duration,
    /// One health check spans this long; ELU and heap rules count checks.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub interval: Duration,
    /// After a worker becomes Ready, ELU and heap rules wait this long (the stall rule does not).
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub grace_period: Duration,
    /// Consecutive failed checks (ELU or heap) before the worker is replaced.
    pub max_unhealthy_checks: u32,
    /// Event-loop utilization (0–1) above which a check fails.
    pub max_elu: f64,
    /// Heap used as a fraction (0–1) of the heap limit above which a check fails.
    pub max_heap_used: f64,
    /// Bytes: the worker's heap limit (`resourceLimits`), old plus young generation.
    pub max_heap_total: u64,
    /// Bytes: the young generation's limit (`resourceLimits.maxYoungGenerationSizeMb`).
    pub max_young_generation: u64,
    /// A loop that has not turned for this long is stuck: replaced at once.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub max_stall: Duration,
}

/// Whether health is judged when `health.enabled` is not set.
pub const DEFAULT_HEALTH_ENABLED: bool = true;
/// `health.sampleInterval`: four samples a second.
pub const DEFAULT_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// `health.interval` (Watt's is 30 s, after which it takes minutes to replace a worker).
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_millis(1000);
/// `health.gracePeriod` (Watt's is 30 s).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_millis(5000);
/// `health.maxUnhealthyChecks` (Watt's is 10).
pub const DEFAULT_MAX_UNHEALTHY_CHECKS: u32 = 5;
/// `health.maxELU` (Watt's default).
pub const DEFAULT_MAX_ELU: f64 = 0.99;
/// `health.maxHeapUsed` (Watt's default).
pub const DEFAULT_MAX_HEAP_USED: f64 = 0.99;
/// `health.maxHeapTotal`: 4 GiB (Watt's default).
pub const DEFAULT_MAX_HEAP_TOTAL: u64 = 4 * 1024 * 1024 * 1024;
/// `health.maxYoungGeneration`: 128 MiB (Watt's default).
pub const DEFAULT_MAX_YOUNG_GENERATION: u64 = 128 * 1024 * 1024;
/// `health.maxStall`: four missed samples.
pub const DEFAULT_MAX_STALL: Duration = Duration::from_millis(1000);

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            enabled: DEFAULT_HEALTH_ENABLED,
            sample_interval: DEFAULT_SAMPLE_INTERVAL,
            interval: DEFAULT_HEALTH_INTERVAL,
            grace_period: DEFAULT_GRACE_PERIOD,
            max_unhealthy_checks: DEFAULT_MAX_UNHEALTHY_CHECKS,
            max_elu: DEFAULT_MAX_ELU,
            max_heap_used: DEFAULT_MAX_HEAP_USED,
            max_heap_total: DEFAULT_MAX_HEAP_TOTAL,
            max_young_generation: DEFAULT_MAX_YOUNG_GENERATION,
            max_stall: DEFAULT_MAX_STALL,
        }
    }
}

/// What happens around crashes and overload, per application.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultConfig {
    /// Starts in a row that crash soon after starting before the app is marked failed.
    pub max_failed_starts: u32,
    /// Requests one worker handles at once; more wait in the app's queue (at most `queue_timeout`).
    pub max_in_flight_per_worker: u32,
    /// How long a request may wait in the queue before it is answered 503.
    #[serde(serialize_with = "crate::millis::as_millis")]
    pub queue_timeout: Duration,
    /// An uncaught exception or unhandled rejection ends the worker (true), or is logged (false).
    pub exit_on_unhandled_errors: bool,
    /// Workers kept loaded and listening but sent no requests, to take a failed or added
    /// worker's place without a cold start. Not counted in `workers` or the scaling budget.
    pub standby_workers: u32,
    /// `standbyWorkers` was not written: one standby from the app's first crash or
    /// unhealthy worker on.
    pub standby_after_failure: bool,
    /// How long a public request's worker may take to begin its answer; `None`: no limit.
    #[serde(serialize_with = "crate::millis::as_optional_millis")]
    pub response_timeout: Option<Duration>,
}

/// `maxFailedStarts` (as many as Watt's start attempts).
pub const DEFAULT_MAX_FAILED_STARTS: u32 = 5;
/// `maxInFlightPerWorker`.
pub const DEFAULT_MAX_IN_FLIGHT_PER_WORKER: u32 = 1024;
/// `queueTimeout`: 10 s.
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_millis(10_000);
/// `exitOnUnhandledErrors` (Watt's default).
pub const DEFAULT_EXIT_ON_UNHANDLED_ERRORS: bool = true;
/// `standbyWorkers` when unset: none until the app first fails (then one, see
/// [`FaultConfig::standby_after_failure`]), so an app that never fails costs no memory it
/// was not asked to.
pub const DEFAULT_STANDBY_WORKERS: u32 = 0;
/// The most `standbyWorkers`: each holds the memory of an idle worker, so a larger number is
/// almost certainly a slip (meant for `workers`) rather than a wish.
pub const MAX_STANDBY_WORKERS: u32 = 8;

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            max_failed_starts: DEFAULT_MAX_FAILED_STARTS,
            max_in_flight_per_worker: DEFAULT_MAX_IN_FLIGHT_PER_WORKER,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
            exit_on_unhandled_errors: DEFAULT_EXIT_ON_UNHANDLED_ERRORS,
            standby_workers: DEFAULT_STANDBY_WORKERS,
            standby_after_failure: true,
            response_timeout: Some(crate::edge::DEFAULT_RESPONSE_TIMEOUT),
        }
    }
}
