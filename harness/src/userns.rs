//! Running the network commands without root: `ftpspec lab` started by another user re-runs
//! itself inside a new user namespace (where it is root over namespaces it creates) and a
//! private mount and network namespace with its own `/run/netns`, when the kernel allows unprivileged
//! user namespaces. Nothing outside is touched: the namespaces and mounts vanish with it.

use std::process::{Command, ExitCode};

/// Set in the re-run process, so it does not try again.
const MARK: &str = "FTPSPEC_USERNS";

/// Re-runs this command line inside a user + mount namespace; returns its exit code.
pub fn reexec() -> ExitCode {
    if std::env::var_os(MARK).is_some() {
        eprintln!("ftpspec: error: still not root inside the user namespace; run as root");
        return ExitCode::from(2);
    }
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "--net", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!(
                "ftpspec: error: this command creates network namespaces, which needs root, or \
                 unprivileged user namespaces, which this kernel refuses ({}). Run it as root \
                 (sudo), or allow them: sysctl -w kernel.unprivileged_userns_clone=1 (Debian) \
                 and user.max_user_namespaces > 0.",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!(
                "ftpspec: error: this command needs root, or `unshare` (util-linux) to run in an \
                 unprivileged user namespace: {e}"
            );
            return ExitCode::from(2);
        }
    }
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("ftpspec: error: cannot find the ftpspec executable to re-run it");
        return ExitCode::from(2);
    };
    // A private /run/netns for `ip netns`: over the existing directory, or over /run when
    // there is none (the user cannot create it).
    let script = "set -e
if [ -d /run/netns ]; then mount -t tmpfs ftpspec-netns /run/netns
else mount -t tmpfs ftpspec-run /run; mkdir /run/netns; fi
exec \"$@\"";
    let status = Command::new("unshare")
        // A network namespace of its own too: `ip netns` switches back to the namespace it
        // started in, which must belong to the new user namespace.
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--net",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", script, "sh"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(MARK, "1")
        .status();
    match status {
        Ok(s) => ExitCode::from(s.code().map_or(130, |c| u8::try_from(c).unwrap_or(1))),
        Err(e) => {
            eprintln!("ftpspec: error: cannot run unshare: {e}");
            ExitCode::from(2)
        }
    }
}
