//! The command script that the classic `ftp` programs (GNU inetutils ftp, netkit ftp-ssl)
//! read on their standard input: log in, binary mode, the transfers, quit.

use super::adapter::Target;
use crate::scenario::Action;

/// The script for a target.
pub(super) fn script(t: &Target) -> String {
    let transfers: String = if t.action == Action::Session {
        let steps = t.steps.iter();
        steps
            .map(|s| command(s.action, &s.path, &s.local()))
            .collect()
    } else {
        command(t.action, &t.path, &t.local())
    };
    format!("user {} {}\nbinary\n{transfers}quit\n", t.user, t.password)
}

/// One transfer's line.
fn command(action: Action, path: &str, local: &str) -> String {
    match action {
        Action::Download => format!("get {path} {local}\n"),
        Action::Upload => format!("put {local} {path}\n"),
        Action::List | Action::Session | Action::Mirror => format!("ls {path} {local}\n"),
    }
}
