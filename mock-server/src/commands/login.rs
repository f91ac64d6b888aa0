//! USER, PASS, ACCT (RFC 959 §4.1.1; reply sequences §5.4).

use std::io;

use crate::control::reply::ReplyCode;
use crate::session::{Flow, Session};

impl Session {
    pub(crate) async fn user(&mut self, name: &str) -> io::Result<Flow> {
        if self.shared.cfg.login_on_user {
            // A password-less account: 230 at once; a PASS after it gets 503 (FIELD #30).
            self.user = None;
            let known = match &self.shared.cfg.credentials {
                None => true,
                Some((u, _)) => u == name,
            };
            self.logged_in = known;
            return if known {
                self.say(ReplyCode::LoggedIn, "Login successful, no password needed.")
                    .await
            } else {
                self.say(ReplyCode::NotLoggedIn, "Login incorrect.").await
            };
        }
        self.user = Some(name.to_owned());
        self.logged_in = false;
        self.say(ReplyCode::NeedPassword, "Please specify the password.")
            .await
    }

    pub(crate) async fn pass(&mut self, password: &str) -> io::Result<Flow> {
        let Some(user) = self.user.take() else {
            let text = if self.logged_in {
                "Already logged in."
            } else {
                "Login with USER first."
            };
            return self.say(ReplyCode::BadSequence, text).await;
        };
        let ok = match &self.shared.cfg.credentials {
            None => true,
            Some((u, p)) => *u == user && *p == password,
        };
        if ok {
            self.logged_in = true;
            self.say(ReplyCode::LoggedIn, "Login successful.").await
        } else {
            self.say(ReplyCode::NotLoggedIn, "Login incorrect.").await
        }
    }

    pub(crate) async fn acct(&mut self) -> io::Result<Flow> {
        if self.logged_in {
            self.say(
                ReplyCode::CommandNotImplementedSuperfluous,
                "ACCT not needed.",
            )
            .await
        } else {
            self.say(ReplyCode::BadSequence, "Login with USER and PASS first.")
                .await
        }
    }
}
