//! The command script that the classic `ftp` programs (GNU inetutils ftp, netkit ftp-ssl)
//! read on their standard input: log in, binary mode, one transfer, quit.

use super::adapter::Target;
use crate::scenario::Action;

/// The script for a target.
pub(super) fn script(t: &Target) -> String {
    let local = t.local();
    let transfer = match t.action {
        Action::Download => format!("get {} {local}", t.path),
        Action::Upload => format!("put {local} {}", t.path),
        Action::List => format!("ls {} {local}", t.path),
    };
    format!("user {} {}\nbinary\n{transfer}\nquit\n", t.user, t.password)
}
