//! Children of a process, found by scanning `/proc/<pid>/stat` for the parent pid
//! (`/proc/<pid>/task/*/children` needs a kernel option that is not always set).

/// The pid, parent pid and state letter of `/proc/<pid>/stat` text; the command name
/// may hold spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat(text: &str) -> Option<(u32, u32, char)> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let mut rest = text[text.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((pid, ppid, state))
}

/// Living (not zombie) children of `parent`, in pid order; processes that vanish while
/// being read are skipped.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?))
        .filter(|&(_, ppid, state)| ppid == parent && !matches!(state, 'Z' | 'X'))
        .map(|(pid, _, _)| pid)
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command name with spaces and parentheses does not shift the fields.
    #[test]
    fn odd_name() {
        let line = "4242 (a (b) c) S 4200 4242 4242 0 -1";
        assert_eq!(parse_stat(line), Some((4242, 4200, 'S')));
    }

    /// A child this test starts is listed; once reaped it is not.
    #[test]
    fn own_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(children(std::process::id()).contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!children(std::process::id()).contains(&child.id()));
    }
}
