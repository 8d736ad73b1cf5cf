//! This process as Prometheus' standard `process_*` metrics describe it, read from /proc.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_user_seconds: f64,
    pub cpu_system_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
    pub threads: u64,
}

/// Reads /proc/self; fields it cannot read stay zero (other systems have no /proc).
pub fn read() -> ProcessStats {
    let mut stats = ProcessStats::default();
    let ticks = clock_ticks();
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the command name, which is in parentheses and may hold spaces.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            // Indices are the man page's field numbers minus 3 (pid, comm, state come first).
            stats.cpu_user_seconds = num(11) as f64 / ticks;
            stats.cpu_system_seconds = num(12) as f64 / ticks;
            stats.threads = num(17);
            stats.virtual_memory_bytes = num(20);
            stats.resident_memory_bytes = num(21) * page_size();
            stats.start_time_seconds = boot_time() + num(19) as f64 / ticks;
        }
    }
    stats.open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    stats.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        });
    stats
}

/// User and system CPU seconds of one thread of this process, from
/// /proc/self/task/<tid>/stat; None when that thread is gone (or there is no /proc).
pub fn thread_cpu(tid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = clock_ticks();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((num(11)? as f64 / ticks, num(12)? as f64 / ticks))
}

/// The calling thread's Linux thread id, from the /proc/thread-self link ("<pid>/task/<tid>").
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

fn boot_time() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))
        })
        .unwrap_or(0.0)
}

// Linux reports both in these units on every architecture Node runs on; reading them
// through sysconf would need libc for two constants.
fn clock_ticks() -> f64 {
    100.0
}

fn page_size() -> u64 {
    4096
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_thread_by_id_and_nothing_for_a_thread_that_is_not_ours() {
        let tid = super::current_tid().unwrap();
        assert_ne!(tid, 0);
        assert!(super::thread_cpu(tid).is_some());
        // Thread ids are below pid_max (at most 2^22); this one is no thread of ours.
        assert_eq!(super::thread_cpu(u32::MAX), None);
    }

    #[test]
    fn reads_this_process() {
        let s = super::read();
        assert!(s.resident_memory_bytes > 0);
        assert!(s.open_fds > 0);
        assert!(s.threads >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            s.start_time_seconds > now - 3600.0 && s.start_time_seconds <= now + 1.0,
            "{}",
            s.start_time_seconds
        );
    }
}
