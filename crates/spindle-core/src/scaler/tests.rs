//! The rules, one at a time, on simulated time.

use std::time::Duration;

use super::*;

const START: Duration = Duration::ZERO;

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Well past the grace period.
fn late() -> Duration {
    secs(1000)
}

/// A dynamic or static app with no change since start-up.
fn app(id: &str, min: u32, max: u32, workers: u32, elu: f64) -> AppView {
    AppView {
        id: id.into(),
        limits: AppLimits { min, max },
        workers,
        elu: Some(elu),
        last_change: None,
    }
}

fn changed_at(mut app: AppView, at: Duration) -> AppView {
    app.last_change = Some(at);
    app
}

/// The decisions for `apps` with the defaults and `budget`, late enough to scale.
fn run(apps: &[AppView], budget: u32) -> Vec<Decision> {
    decide(apps, &Settings::new(budget), START, late())
}

/// Decisions as `"app from→to kind"`, for compact asserts.
fn summary(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .map(|decision| match decision {
            Decision::Scale {
                app,
                from,
                to,
                reason,
            } => format!("{app} {from}→{to} {}", reason.kind()),
        })
        .collect()
}

fn busy(elu: f64) -> Reason {
    Reason::Busy {
        elu,
        threshold: DEFAULT_SCALE_UP_ELU,
    }
}

fn scale(app: &str, from: u32, to: u32, reason: Reason) -> Decision {
    Decision::Scale {
        app: app.into(),
        from,
        to,
        reason,
    }
}

#[test]
fn limits_raise_to_min_and_lower_to_max() {
    let apps = [
        app("api", 2, 4, 1, 0.5),
        app("jobs", 1, 3, 5, 0.5),
        app("static", 2, 2, 3, 0.5),
    ];
    assert_eq!(
        run(&apps, 100),
        [
            scale("jobs", 5, 3, Reason::Limits),
            scale("static", 3, 2, Reason::Limits),
            scale("api", 1, 2, Reason::Limits),
        ]
    );
}

#[test]
fn limits_apply_in_grace_in_cooldown_and_over_budget() {
    let now = secs(1);
    let apps = [changed_at(app("api", 3, 5, 1, 0.5), now)];
    let decisions = decide(&apps, &Settings::new(1), START, now);
    assert_eq!(decisions, [scale("api", 1, 3, Reason::Limits)]);
}

#[test]
fn limits_are_the_apps_one_change_this_tick() {
    let apps = [app("api", 2, 4, 1, 0.95), app("jobs", 1, 3, 5, 0.05)];
    assert_eq!(
        summary(&run(&apps, 100)),
        ["jobs 5→3 limits", "api 1→2 limits"]
    );
}

#[test]
fn inverted_limits_read_as_static_at_min() {
    assert_eq!(
        summary(&run(&[app("api", 3, 2, 2, 0.5)], 100)),
        ["api 2→3 limits"]
    );
    assert_eq!(run(&[app("api", 3, 2, 3, 0.99)], 100), []);
    assert_eq!(run(&[app("api", 3, 2, 3, 0.01)], 100), []);
}

#[test]
fn no_load_decisions_within_grace_and_exactly_at_its_end_they_start() {
    let settings = Settings::new(100);
    let started_at = secs(7);
    let apps = [app("api", 1, 4, 1, 0.95), app("jobs", 1, 4, 3, 0.05)];
    let end = started_at + settings.grace_period;
    let before = end - Duration::from_nanos(1);
    assert_eq!(decide(&apps, &settings, started_at, before), []);
    assert_eq!(decide(&apps, &settings, started_at, started_at), []);
    assert_eq!(
        summary(&decide(&apps, &settings, started_at, end)),
        ["jobs 3→2 idle", "api 1→2 busy"]
    );
}

#[test]
fn a_busy_app_gains_one_worker() {
    assert_eq!(
        run(&[app("api", 1, 8, 2, 0.93)], 100),
        [scale("api", 2, 3, busy(0.93))]
    );
}

#[test]
fn a_busy_app_at_max_stays() {
    assert_eq!(run(&[app("api", 1, 3, 3, 1.0)], 100), []);
}

#[test]
fn an_idle_app_loses_one_worker_but_not_below_min() {
    let idle = Reason::Idle {
        elu: 0.05,
        threshold: DEFAULT_SCALE_DOWN_ELU,
    };
    assert_eq!(
        run(&[app("api", 1, 8, 4, 0.05)], 100),
        [scale("api", 4, 3, idle)]
    );
    assert_eq!(run(&[app("api", 2, 8, 2, 0.0)], 100), []);
}

#[test]
fn thresholds_are_inclusive() {
    assert_eq!(
        summary(&run(&[app("a", 1, 4, 2, 0.8)], 100)),
        ["a 2→3 busy"]
    );
    assert_eq!(run(&[app("a", 1, 4, 2, 0.7999)], 100), []);
    assert_eq!(
        summary(&run(&[app("a", 1, 4, 2, 0.2)], 100)),
        ["a 2→1 idle"]
    );
    assert_eq!(run(&[app("a", 1, 4, 2, 0.2001)], 100), []);
}

#[test]
fn cooldown_ends_exactly_after_cooldown() {
    let settings = Settings::new(100);
    let now = late();
    let just_in = now - settings.cooldown + Duration::from_nanos(1);
    let just_out = now - settings.cooldown;
    for elu in [0.95, 0.05] {
        let held = [changed_at(app("api", 1, 8, 2, elu), just_in)];
        assert_eq!(decide(&held, &settings, START, now), [], "elu {elu}");
        let free = [changed_at(app("api", 1, 8, 2, elu), just_out)];
        assert_eq!(decide(&free, &settings, START, now).len(), 1, "elu {elu}");
    }
}

#[test]
fn a_change_stamped_after_now_counts_as_just_now() {
    let apps = [changed_at(app("api", 1, 8, 2, 0.95), late() + secs(1))];
    assert_eq!(run(&apps, 100), []);
}

#[test]
fn cooldown_is_per_app() {
    let apps = [
        changed_at(app("api", 1, 8, 2, 0.95), late() - secs(1)),
        app("web", 1, 8, 2, 0.95),
    ];
    assert_eq!(summary(&run(&apps, 100)), ["web 2→3 busy"]);
}

#[test]
fn the_budget_holds_when_many_apps_are_busy() {
    let apps: Vec<AppView> = (0..6)
        .map(|i| app(&format!("app{i}"), 1, 4, 1, 0.8 + 0.01 * f64::from(i)))
        .collect();
    // Six workers in use, a budget of eight: the two busiest grow.
    assert_eq!(summary(&run(&apps, 8)), ["app4 1→2 busy", "app5 1→2 busy"]);
    assert_eq!(run(&apps, 6), []);
    assert_eq!(run(&apps, 0), []);
}

#[test]
fn the_busiest_grows_first_and_equals_go_by_id() {
    let apps = [
        app("c", 1, 4, 1, 0.9),
        app("b", 1, 4, 1, 0.95),
        app("a", 1, 4, 1, 0.95),
    ];
    assert_eq!(summary(&run(&apps, 4)), ["a 1→2 busy"]);
    assert_eq!(summary(&run(&apps, 5)), ["a 1→2 busy", "b 1→2 busy"]);
}

#[test]
fn a_scale_down_frees_budget_for_a_scale_up_and_comes_first() {
    // Budget full: "z" is idle and shrinks, which makes room for "a".
    let apps = [app("a", 1, 4, 2, 0.9), app("z", 1, 4, 2, 0.1)];
    assert_eq!(summary(&run(&apps, 4)), ["z 2→1 idle", "a 2→3 busy"]);
}

#[test]
fn a_move_happens_only_when_the_budget_is_full() {
    let apps = [app("api", 1, 8, 2, 0.95), app("jobs", 1, 8, 3, 0.3)];
    assert_eq!(summary(&run(&apps, 6)), ["api 2→3 busy"]);
    assert_eq!(
        run(&apps, 5),
        [
            scale("jobs", 3, 2, Reason::Moved { to: "api".into() }),
            scale("api", 2, 3, busy(0.95)),
        ]
    );
}

#[test]
fn the_idlest_donor_gives_and_equals_go_by_id() {
    let apps = [
        app("api", 1, 8, 1, 0.95),
        app("b", 1, 8, 3, 0.3),
        app("c", 1, 8, 3, 0.4),
        app("a", 1, 8, 3, 0.3),
    ];
    assert_eq!(summary(&run(&apps, 10)), ["a 3→2 moved", "api 1→2 busy"]);
}

#[test]
fn a_donor_is_below_the_midpoint_of_the_thresholds() {
    // Defaults: (0.8 + 0.2) / 2 = 0.5, strictly below.
    let with = |elu| [app("api", 1, 8, 1, 0.95), app("jobs", 1, 8, 4, elu)];
    assert_eq!(run(&with(0.5), 5), []);
    assert_eq!(
        summary(&run(&with(0.49), 5)),
        ["jobs 4→3 moved", "api 1→2 busy"]
    );
}

#[test]
fn no_move_from_an_app_at_min_in_cooldown_static_or_without_elu() {
    let busy_api = app("api", 1, 8, 1, 0.95);
    let mut no_elu = app("jobs", 1, 8, 3, 0.3);
    no_elu.elu = None;
    let donors = [
        app("jobs", 3, 8, 3, 0.3),
        changed_at(app("jobs", 1, 8, 3, 0.3), late() - secs(1)),
        app("jobs", 3, 3, 3, 0.3),
        no_elu,
    ];
    for donor in donors {
        // Full: static workers do not count.
        let budget = if donor.limits.is_static() { 1 } else { 4 };
        assert_eq!(
            run(&[busy_api.clone(), donor.clone()], budget),
            [],
            "{donor:?}"
        );
    }
}

#[test]
fn no_move_that_would_make_the_donor_busy() {
    // Two workers at 0.45 are 0.9 of one worker: the donor would want its worker back.
    let with = |elu| [app("api", 1, 8, 1, 0.95), app("jobs", 1, 8, 2, elu)];
    assert_eq!(run(&with(0.45), 3), []);
    assert_eq!(
        summary(&run(&with(0.39), 3)),
        ["jobs 2→1 moved", "api 1→2 busy"]
    );
}

#[test]
fn at_most_one_move_per_tick_to_the_busiest() {
    let apps = [
        app("api", 1, 8, 1, 0.9),
        app("web", 1, 8, 1, 0.95),
        app("jobs", 1, 8, 3, 0.1),
        app("cron", 1, 8, 3, 0.3),
    ];
    // "jobs" is idle and shrinks, freeing one worker for "web"; "api" is starved and takes
    // one from "cron". A second donor would not make a second move.
    assert_eq!(
        summary(&run(&apps, 8)),
        [
            "cron 3→2 moved",
            "jobs 3→2 idle",
            "api 1→2 busy",
            "web 1→2 busy"
        ]
    );
    let apps = [
        app("api", 1, 8, 1, 0.9),
        app("web", 1, 8, 1, 0.95),
        app("jobs", 1, 8, 3, 0.3),
        app("cron", 1, 8, 3, 0.3),
    ];
    assert_eq!(summary(&run(&apps, 8)), ["cron 3→2 moved", "web 1→2 busy"]);
}

#[test]
fn static_apps_only_get_limits_and_are_not_in_the_budget() {
    assert_eq!(run(&[app("s", 2, 2, 2, 1.0)], 100), []);
    assert_eq!(run(&[app("s", 2, 2, 2, 0.0)], 100), []);
    // Four static workers and a budget of two: the dynamic app still has room.
    let apps = [app("s", 4, 4, 4, 1.0), app("api", 1, 4, 1, 0.9)];
    assert_eq!(summary(&run(&apps, 2)), ["api 1→2 busy"]);
}

#[test]
fn no_load_scaling_without_a_meaningful_elu() {
    for elu in [None, Some(f64::NAN), Some(f64::INFINITY)] {
        let mut api = app("api", 1, 8, 2, 0.0);
        api.elu = elu;
        assert_eq!(run(&[api], 100), [], "{elu:?}");
    }
}

#[test]
fn the_same_view_twice_gives_the_same_decisions_whatever_the_order() {
    let apps = vec![
        app("api", 1, 8, 1, 0.9),
        app("web", 1, 8, 1, 0.95),
        app("jobs", 1, 8, 3, 0.1),
        app("cron", 1, 8, 3, 0.3),
        app("low", 2, 4, 1, 0.5),
    ];
    let first = run(&apps, 8);
    assert_eq!(run(&apps, 8), first);
    let mut reversed = apps.clone();
    reversed.reverse();
    assert_eq!(run(&reversed, 8), first);
}

/// A driver over simulated time: each app has a steady load in workers' worth of work,
/// spread over its workers.
#[test]
fn a_full_budget_flows_to_the_busy_app_and_settles() {
    let settings = Settings::new(6);
    let load = |id: &str| if id == "api" { 3.5 } else { 1.2 };
    let mut apps = vec![app("api", 1, 6, 1, 0.0), app("jobs", 1, 6, 5, 0.0)];
    let mut changes: Vec<(Duration, String)> = vec![];
    for tick in 0..300 {
        let now = secs(tick);
        for app in &mut apps {
            app.elu = Some((load(&app.id) / f64::from(app.workers)).min(1.0));
        }
        for Decision::Scale { app: id, to, .. } in decide(&apps, &settings, START, now) {
            let app = apps.iter_mut().find(|app| app.id == id).unwrap();
            app.workers = to;
            app.last_change = Some(now);
            changes.push((now, id));
        }
        let total: u32 = apps.iter().map(|app| app.workers).sum();
        assert!(total <= settings.budget, "over budget at {now:?}");
    }
    for app in &apps {
        let times: Vec<Duration> = changes
            .iter()
            .filter(|(_, id)| *id == app.id)
            .map(|(at, _)| *at)
            .collect();
        assert!(times.windows(2).all(|w| w[1] - w[0] >= settings.cooldown));
    }
    // Moves until "jobs" at two workers (0.6) is no longer a donor.
    let workers: Vec<u32> = apps.iter().map(|app| app.workers).collect();
    assert_eq!(workers, [4, 2]);
    assert_eq!(changes.len(), 6);
    assert_eq!(changes[0].0, settings.grace_period);
}
