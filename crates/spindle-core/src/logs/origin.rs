//! The process fields pino writes on every line, `pid` and `hostname`.
//!
//! Watt users filter logs on them (several Spindle processes behind one log shipper, a
//! pod's lines), so Spindle's own lines and the worker lines it wraps carry them too.

use super::escape::push_json_str;

/// This process's `pid` and `hostname`, ready to splice into a line.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// `"pid":<pid>,`
    pub(crate) json_pid: String,
    /// `"hostname":"<hostname>",`
    pub(crate) json_hostname: String,
}

impl Origin {
    /// The running process, named as `os.hostname()` names it in Node.
    pub(crate) fn current() -> Origin {
        Origin::new(std::process::id(), &hostname())
    }

    pub(crate) fn new(pid: u32, hostname: &str) -> Origin {
        let mut json_hostname = String::from("\"hostname\":");
        push_json_str(&mut json_hostname, hostname);
        json_hostname.push(',');
        Origin {
            json_pid: format!("\"pid\":{pid},"),
            json_hostname,
        }
    }
}

/// The kernel's host name (what pino's `os.hostname()` returns); empty if it cannot be read.
#[allow(unsafe_code)] // gethostname(2) has no safe std equivalent.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_json_members() {
        let origin = Origin::new(42, "h\"x");
        assert_eq!(origin.json_pid, r#""pid":42,"#);
        assert_eq!(origin.json_hostname, r#""hostname":"h\"x","#);
    }

    #[test]
    fn the_current_process_has_its_pid_and_a_hostname() {
        let origin = Origin::current();
        assert_eq!(origin.json_pid, format!("\"pid\":{},", std::process::id()));
        assert_ne!(origin.json_hostname, r#""hostname":"","#);
    }
}
