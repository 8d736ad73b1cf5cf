//! The scaling rules: one tick's decisions from every app's view, the settings and the time.

use std::cmp::Ordering;
use std::time::Duration;

use super::decision::{Decision, Reason};
use super::settings::Settings;
use super::view::AppView;

/// The decisions for this tick, scale-downs first (so the budget is freed before it is
/// spent), then scale-ups, each group by app id.
///
/// In order, with at most one change per app: limits, always; then, past `grace_period`
/// after `started_at`, idle apps shrink, busy apps grow within the budget, busiest first,
/// and if the budget stopped a busy app, one worker may move to it. The module doc has the
/// rules in full.
///
/// Pure: the same views, settings and times give the same decisions. The driver must stamp
/// `last_change` once it applies one, or the next tick will ask again.
pub fn decide(
    apps: &[AppView],
    settings: &Settings,
    started_at: Duration,
    now: Duration,
) -> Vec<Decision> {
    let mut plan = Plan::new(apps);
    plan.limits();
    if now.saturating_sub(started_at) >= settings.grace_period {
        plan.scale_down(settings, now);
        let starved = plan.scale_up(settings, now);
        plan.move_one(&starved, settings, now);
    }
    plan.into_decisions()
}

/// The tick's changes so far, one slot per app, in input order.
struct Plan<'a> {
    slots: Vec<Slot<'a>>,
}

struct Slot<'a> {
    app: &'a AppView,
    change: Option<(u32, Reason)>,
}

impl Slot<'_> {
    /// Workers once this tick's change, if any, is applied.
    fn workers(&self) -> u32 {
        self.change.as_ref().map_or(self.app.workers, |(to, _)| *to)
    }

    /// The ELU to scale by, if this app is untouched this tick and may be scaled for load.
    fn load(&self, settings: &Settings, now: Duration) -> Option<f64> {
        if self.change.is_some() {
            return None;
        }
        self.app.load(settings.cooldown, now)
    }
}

impl<'a> Plan<'a> {
    fn new(apps: &'a [AppView]) -> Plan<'a> {
        let slots = apps.iter().map(|app| Slot { app, change: None }).collect();
        Plan { slots }
    }

    /// Brings every app within its limits. Limits come from config, so they win over
    /// cooldown, grace and the budget: `min` is what the user asked for.
    fn limits(&mut self) {
        for slot in &mut self.slots {
            let (min, max) = (slot.app.limits.min, slot.app.limits.upper());
            let to = slot.app.workers.clamp(min, max);
            if to != slot.app.workers {
                slot.change = Some((to, Reason::Limits));
            }
        }
    }

    /// One worker fewer for every idle app above its minimum.
    fn scale_down(&mut self, settings: &Settings, now: Duration) {
        for slot in &mut self.slots {
            let Some(elu) = slot.load(settings, now) else {
                continue;
            };
            if elu <= settings.scale_down_elu && slot.app.workers > slot.app.limits.min {
                let threshold = settings.scale_down_elu;
                slot.change = Some((slot.app.workers - 1, Reason::Idle { elu, threshold }));
            }
        }
    }

    /// One worker more for each busy app below its maximum, busiest first, while the dynamic
    /// apps' total stays within the budget. Returns the busy apps the budget stopped, with
    /// their ELU, busiest first.
    fn scale_up(&mut self, settings: &Settings, now: Duration) -> Vec<(usize, f64)> {
        let mut busy: Vec<(usize, f64)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                let elu = slot.load(settings, now)?;
                let room = slot.app.workers < slot.app.limits.upper();
                (elu >= settings.scale_up_elu && room).then_some((i, elu))
            })
            .collect();
        busy.sort_by(|&(a, a_elu), &(b, b_elu)| {
            b_elu.total_cmp(&a_elu).then_with(|| self.by_id(a, b))
        });

        let mut total = self.dynamic_total();
        let mut starved = vec![];
        for (i, elu) in busy {
            if total < u64::from(settings.budget) {
                total += 1;
                let slot = &mut self.slots[i];
                let threshold = settings.scale_up_elu;
                slot.change = Some((slot.app.workers + 1, Reason::Busy { elu, threshold }));
            } else {
                starved.push((i, elu));
            }
        }
        starved
    }

    /// With the budget full, moves one worker to the busiest starved app that has a donor:
    /// the idlest other app under [`Settings::donor_elu`] that can spare one.
    fn move_one(&mut self, starved: &[(usize, f64)], settings: &Settings, now: Duration) {
        for &(to, elu) in starved {
            let Some(from) = self.donor(to, settings, now) else {
                continue;
            };
            let receiver = &mut self.slots[to];
            let threshold = settings.scale_up_elu;
            receiver.change = Some((receiver.app.workers + 1, Reason::Busy { elu, threshold }));
            let to = receiver.app.id.clone();
            let donor = &mut self.slots[from];
            donor.change = Some((donor.app.workers - 1, Reason::Moved { to }));
            return;
        }
    }

    /// The idlest app, other than `receiver`, that may give a worker away.
    fn donor(&self, receiver: usize, settings: &Settings, now: Duration) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != receiver)
            .filter_map(|(i, slot)| {
                let elu = slot.load(settings, now)?;
                let workers = slot.app.workers;
                let spare = elu < settings.donor_elu() && workers > slot.app.limits.min;
                // Its load spread over one worker fewer must not make the donor busy itself,
                // or the worker would move back after the cooldown, and again after the next.
                let after = elu * f64::from(workers) / f64::from(workers.saturating_sub(1));
                (spare && after < settings.scale_up_elu).then_some((i, elu))
            })
            .min_by(|&(a, a_elu), &(b, b_elu)| {
                a_elu.total_cmp(&b_elu).then_with(|| self.by_id(a, b))
            })
            .map(|(i, _)| i)
    }

    /// Equal loads are served in app id order, whatever order the driver listed apps in.
    fn by_id(&self, a: usize, b: usize) -> Ordering {
        self.slots[a].app.id.cmp(&self.slots[b].app.id)
    }

    /// The workers of every dynamic app once this tick's changes so far are applied.
    fn dynamic_total(&self) -> u64 {
        self.slots
            .iter()
            .filter(|slot| !slot.app.limits.is_static())
            .map(|slot| u64::from(slot.workers()))
            .sum()
    }

    fn into_decisions(self) -> Vec<Decision> {
        let mut decisions: Vec<Decision> = self
            .slots
            .into_iter()
            .filter_map(|slot| {
                let (to, reason) = slot.change?;
                Some(Decision::Scale {
                    app: slot.app.id.clone(),
                    from: slot.app.workers,
                    to,
                    reason,
                })
            })
            .collect();
        // Downs (false) before ups (true); sort_by_key cannot borrow the id from the item.
        decisions.sort_by(|a, b| (a.is_up(), a.app()).cmp(&(b.is_up(), b.app())));
        decisions
    }
}
