//! TYPE, MODE, STRU (RFC 959 §4.1.2, §3.1), REST (RFC 3659 §5, STREAM mode).

use std::io;

use crate::control::reply::ReplyCode;
use crate::session::{Flow, Session};

impl Session {
    pub(crate) async fn type_(&mut self, arg: &str) -> io::Result<Flow> {
        let words: Vec<String> = arg
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["A"] | ["A", "N"] => {
                self.ascii = true;
                self.say(ReplyCode::CommandOkay, "Switching to ASCII mode.")
                    .await
            }
            ["I"] | ["L", "8"] => {
                self.ascii = false;
                self.say(ReplyCode::CommandOkay, "Switching to Binary mode.")
                    .await
            }
            ["A", "T" | "C"] | ["E"] | ["E", _] | ["L", _] => {
                self.say(
                    ReplyCode::ParameterNotImplemented,
                    format!("TYPE {arg} not implemented; use A or I."),
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    format!("Unrecognised TYPE {arg:?}."),
                )
                .await
            }
        }
    }

    pub(crate) async fn mode(&mut self, arg: &str) -> io::Result<Flow> {
        match arg.trim().to_ascii_uppercase().as_str() {
            "S" => self.say(ReplyCode::CommandOkay, "Mode set to S.").await,
            "B" | "C" => {
                self.say(
                    ReplyCode::ParameterNotImplemented,
                    "Only stream mode (S) is supported.",
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    format!("Unrecognised MODE {arg:?}."),
                )
                .await
            }
        }
    }

    pub(crate) async fn stru(&mut self, arg: &str) -> io::Result<Flow> {
        match arg.trim().to_ascii_uppercase().as_str() {
            "F" => {
                self.say(ReplyCode::CommandOkay, "Structure set to F.")
                    .await
            }
            "R" | "P" => {
                self.say(
                    ReplyCode::ParameterNotImplemented,
                    "Only file structure (F) is supported.",
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    format!("Unrecognised STRU {arg:?}."),
                )
                .await
            }
        }
    }

    pub(crate) async fn rest(&mut self, arg: &str) -> io::Result<Flow> {
        match arg.trim().parse::<u64>() {
            Ok(offset) if arg.trim().bytes().all(|b| b.is_ascii_digit()) => {
                self.rest = offset;
                self.say(
                    ReplyCode::FileActionPending,
                    format!("Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer."),
                )
                .await
            }
            _ => {
                self.say(
                    ReplyCode::ParameterSyntaxError,
                    format!("REST needs a byte offset, got {arg:?}."),
                )
                .await
            }
        }
    }
}
