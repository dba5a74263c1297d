//! What processes cost, read from `/proc`: CPU seconds and memory, for the benches' figures.

/// CPU seconds (user + system) of every process in the process group `pgid`.
pub fn group_cpu_secs(pgid: u32) -> f64 {
    group_pids(pgid).iter().map(|p| pid_cpu_secs(*p)).sum()
}

/// CPU seconds (user + system) of this process.
pub fn own_cpu_secs() -> f64 {
    pid_cpu_secs(std::process::id())
}

/// A memory line of `/proc/self/status` (`VmHWM`: peak RSS, `VmRSS`: now) in MB.
pub fn status_mb(field: &str) -> f64 {
    pid_status_mb(std::process::id(), field)
}

/// A memory line of `/proc/<pid>/status` in MB (0 when the process is gone).
pub fn pid_status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The memory the processes of group `pgid` hold now, in MB: the sum of their proportional
/// set sizes (`Pss`), so the shared memory Kamailio's children all map counts once.
pub fn group_pss_mb(pgid: u32) -> f64 {
    group_pids(pgid)
        .iter()
        .map(|pid| {
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        })
        .sum()
}

/// The fields of `/proc/<pid>/stat` after the command name, counted from the state (0).
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn pid_cpu_secs(pid: u32) -> f64 {
    let f = stat_fields(pid);
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime, in USER_HZ (100 on Linux).
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The processes whose process group is `pgid`.
fn group_pids(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat_fields(*pid).get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid))
        .collect()
}
