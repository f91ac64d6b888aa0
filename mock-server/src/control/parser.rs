//! Turns one control line into a [`Command`] (RFC 959 §5.3: `VERB SP argument CRLF`).
//!
//! Every command the server knows is declared once, in the `verbs!` table below, with its
//! argument rule and whether it needs a login. Adding a command means one line here and one
//! handler in its family's file under `commands/`.

use std::fmt;

/// Whether a verb takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgRule {
    /// Never takes one (`PWD`).
    None,
    /// Must have one (`RETR path`).
    Required,
    /// May have one (`LIST [path]`).
    Optional,
}

macro_rules! verbs {
    ($($variant:ident => $text:literal, $arg:ident, login: $login:literal;)*) => {
        /// A command verb the mock server implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Verb { $($variant,)* }

        impl Verb {
            /// Every implemented verb, in table order (used by `HELP`).
            pub const ALL: &'static [Verb] = &[$(Verb::$variant,)*];

            /// Looks a verb up, case-insensitively.
            pub fn from_name(name: &str) -> Option<Verb> {
                $(if name.eq_ignore_ascii_case($text) { return Some(Verb::$variant); })*
                None
            }

            /// The verb as sent on the wire.
            pub fn name(self) -> &'static str {
                match self { $(Verb::$variant => $text,)* }
            }

            pub(crate) fn arg_rule(self) -> ArgRule {
                match self { $(Verb::$variant => ArgRule::$arg,)* }
            }

            /// Whether the verb is refused with 530 before login.
            pub fn needs_login(self) -> bool {
                match self { $(Verb::$variant => $login,)* }
            }
        }
    };
}

verbs! {
    User => "USER", Required, login: false;
    Pass => "PASS", Optional, login: false;
    Acct => "ACCT", Required, login: false;
    Syst => "SYST", None, login: false;
    Feat => "FEAT", None, login: false;
    Opts => "OPTS", Required, login: false;
    Help => "HELP", Optional, login: false;
    Noop => "NOOP", None, login: false;
    Quit => "QUIT", None, login: false;
    Pwd => "PWD", None, login: true;
    Xpwd => "XPWD", None, login: true;
    Cwd => "CWD", Required, login: true;
    Xcwd => "XCWD", Required, login: true;
    Cdup => "CDUP", None, login: true;
    Xcup => "XCUP", None, login: true;
    Type => "TYPE", Required, login: true;
    Mode => "MODE", Required, login: true;
    Stru => "STRU", Required, login: true;
    Allo => "ALLO", Optional, login: true;
    Rest => "REST", Required, login: true;
    Pasv => "PASV", None, login: true;
    Epsv => "EPSV", Optional, login: true;
    Port => "PORT", Required, login: true;
    Eprt => "EPRT", Required, login: true;
    List => "LIST", Optional, login: true;
    Nlst => "NLST", Optional, login: true;
    Mlsd => "MLSD", Optional, login: true;
    Mlst => "MLST", Optional, login: true;
    Retr => "RETR", Required, login: true;
    Stor => "STOR", Required, login: true;
    Appe => "APPE", Required, login: true;
    Size => "SIZE", Required, login: true;
    Mdtm => "MDTM", Required, login: true;
    Abor => "ABOR", None, login: true;
    Dele => "DELE", Required, login: true;
    Mkd => "MKD", Required, login: true;
    Xmkd => "XMKD", Required, login: true;
    Rmd => "RMD", Required, login: true;
    Xrmd => "XRMD", Required, login: true;
    Rnfr => "RNFR", Required, login: true;
    Rnto => "RNTO", Required, login: true;
    Auth => "AUTH", Required, login: false;
    Pbsz => "PBSZ", Required, login: false;
    Prot => "PROT", Required, login: false;
    Ccc => "CCC", None, login: true;
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The verb.
    pub verb: Verb,
    /// The argument, exactly as sent (may be empty; may contain spaces).
    pub arg: String,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line was empty.
    #[error("empty command line")]
    Empty,
    /// The verb is not one the server implements (reply 502).
    #[error("command {0:?} not implemented")]
    Unknown(String),
    /// The verb needs an argument and got none (reply 501).
    #[error("{0} needs an argument")]
    MissingArgument(Verb),
    /// The verb takes no argument and got one (reply 501).
    #[error("{0} takes no argument")]
    UnexpectedArgument(Verb),
}

/// Splits a line (already stripped of CRLF) into verb and argument.
///
/// The verb is the text before the first space; the argument is everything after that space,
/// kept as sent (paths may contain spaces). Never panics, whatever the input.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let (verb_text, arg) = split_verb(line);
    if verb_text.is_empty() {
        return Err(ParseError::Empty);
    }
    let verb =
        Verb::from_name(verb_text).ok_or_else(|| ParseError::Unknown(verb_text.to_owned()))?;
    match (verb.arg_rule(), arg.is_empty()) {
        (ArgRule::Required, true) => Err(ParseError::MissingArgument(verb)),
        (ArgRule::None, false) => Err(ParseError::UnexpectedArgument(verb)),
        _ => Ok(Command {
            verb,
            arg: arg.to_owned(),
        }),
    }
}

/// The verb (text before the first space) and the rest, for matching scripts before parsing.
pub(crate) fn split_verb(line: &str) -> (&str, &str) {
    let line = line.trim_start_matches(' ');
    match line.split_once(' ') {
        Some((verb, arg)) => (verb, arg.trim_end_matches(' ')),
        None => (line.trim_end(), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("USER anonymous", Verb::User, "anonymous")]
    #[case("user Bob", Verb::User, "Bob")]
    #[case("RETR a file with spaces.txt", Verb::Retr, "a file with spaces.txt")]
    #[case("PASV", Verb::Pasv, "")]
    #[case("EPSV 2", Verb::Epsv, "2")]
    #[case("LIST -la", Verb::List, "-la")]
    #[case("LIST", Verb::List, "")]
    #[case("PASS", Verb::Pass, "")]
    #[case("NOOP ", Verb::Noop, "")]
    fn parses(#[case] line: &str, #[case] verb: Verb, #[case] arg: &str) {
        assert_eq!(
            parse(line),
            Ok(Command {
                verb,
                arg: arg.into()
            })
        );
    }

    #[rstest]
    #[case("", ParseError::Empty)]
    #[case("   ", ParseError::Empty)]
    #[case("XYZZY now", ParseError::Unknown("XYZZY".into()))]
    #[case("RETR", ParseError::MissingArgument(Verb::Retr))]
    #[case("PWD /x", ParseError::UnexpectedArgument(Verb::Pwd))]
    fn rejects(#[case] line: &str, #[case] err: ParseError) {
        assert_eq!(parse(line), Err(err));
    }

    #[test]
    fn every_verb_round_trips_through_its_name() {
        for verb in Verb::ALL {
            assert_eq!(Verb::from_name(verb.name()), Some(*verb));
            assert_eq!(Verb::from_name(&verb.name().to_lowercase()), Some(*verb));
        }
    }

    proptest! {
        #[test]
        fn never_panics(line in ".*") {
            let _ = parse(&line);
        }

        #[test]
        fn never_panics_on_lossy_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
