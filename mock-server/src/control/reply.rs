//! Reply codes and the one reply encoder (RFC 959 §4.2, multi-line replies included).

use std::fmt;

use serde::Deserialize;

/// How the server ends the reply lines it writes. In TOML: `line_ending = "crlf" | "lf"`.
///
/// RFC 959 §4.2 says CRLF; some embedded servers end lines with LF only (FIELD #25: AndFTP
/// waited forever for the CR). Text a script sends as written (`raw`, `pipeline`, passive
/// templates) keeps its own line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineEnding {
    /// `\r\n`, as RFC 959 requires (the default).
    #[default]
    Crlf,
    /// `\n` only.
    Lf,
}

impl LineEnding {
    /// The bytes that end a line.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Crlf => "\r\n",
            LineEnding::Lf => "\n",
        }
    }
}

impl std::str::FromStr for LineEnding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "crlf" => Ok(LineEnding::Crlf),
            "lf" => Ok(LineEnding::Lf),
            other => Err(format!("{other:?} is not a line ending: use crlf or lf")),
        }
    }
}

/// The reply codes the mock server sends on its own. Scripts may send any code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum ReplyCode {
    RestartMarker = 110,
    DataConnectionAlreadyOpen = 125,
    FileStatusOkay = 150,
    CommandOkay = 200,
    CommandNotImplementedSuperfluous = 202,
    /// 234 (RFC 2228): AUTH accepted; the security exchange (TLS handshake) follows.
    SecurityExchangeStarts = 234,
    SystemStatus = 211,
    FileStatus = 213,
    HelpMessage = 214,
    SystemType = 215,
    ServiceReady = 220,
    ClosingControl = 221,
    DataConnectionOpenNoTransfer = 225,
    ClosingDataConnection = 226,
    EnteringPassiveMode = 227,
    EnteringExtendedPassiveMode = 229,
    LoggedIn = 230,
    FileActionOkay = 250,
    PathCreated = 257,
    NeedPassword = 331,
    NeedAccount = 332,
    FileActionPending = 350,
    ServiceNotAvailable = 421,
    CantOpenDataConnection = 425,
    ConnectionClosedTransferAborted = 426,
    FileActionNotTaken = 450,
    LocalError = 451,
    InsufficientStorage = 452,
    SyntaxError = 500,
    ParameterSyntaxError = 501,
    CommandNotImplemented = 502,
    BadSequence = 503,
    ParameterNotImplemented = 504,
    /// 521 (RFC 4217 §9): the data connection cannot be opened with this PROT setting.
    DataProtectionRequired = 521,
    /// 522: EPRT/EPSV network protocol not supported (RFC 2428); FTPS servers such as
    /// vsftpd also use it for a failed data-connection TLS handshake (see [`Self::DataTlsFailed`]).
    ProtocolNotSupported = 522,
    NotLoggedIn = 530,
    /// 533 (RFC 2228): command protection level denied for policy reasons.
    CommandProtectionDenied = 533,
    /// 534 (RFC 2228): request denied for policy reasons.
    DeniedForPolicy = 534,
    /// 536 (RFC 2228): requested PROT level not supported by the mechanism.
    ProtLevelNotSupported = 536,
    FileUnavailable = 550,
    PageTypeUnknown = 551,
    ExceededStorageAllocation = 552,
    FileNameNotAllowed = 553,
}

impl ReplyCode {
    /// 522 as FTPS servers use it: the data connection's TLS handshake failed or did not
    /// resume the control connection's session (vsftpd's `require_ssl_reuse`).
    #[allow(non_upper_case_globals)]
    pub const DataTlsFailed: ReplyCode = ReplyCode::ProtocolNotSupported;
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code as u16
    }
}

/// One reply: a code and one or more lines of text.
///
/// ```
/// use ftpspec_mock::Reply;
/// let r = Reply::multi(211u16, ["Features:", " SIZE", "End"]);
/// assert_eq!(r.encode(), "211-Features:\r\n SIZE\r\n211 End\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The text lines (at least one; an empty text is sent as one empty line).
    pub lines: Vec<String>,
}

impl Reply {
    /// A single-line reply. Newlines inside `text` make it a multi-line reply.
    pub fn new(code: impl Into<u16>, text: impl Into<String>) -> Self {
        let text = text.into();
        let lines = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect();
        Reply {
            code: code.into(),
            lines,
        }
    }

    /// A multi-line reply from separate lines.
    pub fn multi<I, S>(code: impl Into<u16>, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut lines: Vec<String> = lines.into_iter().map(Into::into).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply {
            code: code.into(),
            lines,
        }
    }

    /// Encodes the reply as it goes on the wire.
    ///
    /// Single line: `CODE text\r\n`. Multi-line (RFC 959 §4.2): `CODE-first`, the middle lines,
    /// `CODE last`. A middle line that could be mistaken for the closing line (it begins with
    /// three digits) is indented by one space, as RFC 959 requires.
    pub fn encode(&self) -> String {
        self.encode_with(LineEnding::Crlf)
    }

    /// Encodes the reply with the given line ends (see [`LineEnding`]).
    pub fn encode_with(&self, eol: LineEnding) -> String {
        let (code, eol) = (self.code, eol.as_str());
        match self.lines.as_slice() {
            [] => format!("{code} {eol}"),
            [only] => format!("{code} {only}{eol}"),
            [first, middle @ .., last] => {
                let mut out = format!("{code}-{first}{eol}");
                for line in middle {
                    if line.len() >= 3 && line.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                        out.push(' ');
                    }
                    out.push_str(line);
                    out.push_str(eol);
                }
                out.push_str(&format!("{code} {last}{eol}"));
                out
            }
        }
    }

    /// The text lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode().trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Reply::new(ReplyCode::CommandOkay, "OK"), "200 OK\r\n")]
    #[case(Reply::new(220u16, ""), "220 \r\n")]
    #[case(Reply::new(211u16, "a\nb"), "211-a\r\n211 b\r\n")]
    #[case(Reply::multi(214u16, ["Commands:", "USER PASS", "End"]), "214-Commands:\r\nUSER PASS\r\n214 End\r\n")]
    #[case(Reply::multi(211u16, ["x", "226 looks like a code", "y"]), "211-x\r\n 226 looks like a code\r\n211 y\r\n")]
    #[case(Reply::multi(211u16, Vec::<String>::new()), "211 \r\n")]
    fn encodes(#[case] reply: Reply, #[case] wire: &str) {
        assert_eq!(reply.encode(), wire);
        let lf = reply.encode_with(LineEnding::Lf);
        assert!(!lf.contains('\r'), "{lf:?}");
        assert_eq!(lf, wire.replace("\r\n", "\n"));
    }

    #[test]
    fn line_endings_parse() {
        assert_eq!("lf".parse(), Ok(LineEnding::Lf));
        assert_eq!("CRLF".parse(), Ok(LineEnding::Crlf));
        assert!("cr"
            .parse::<LineEnding>()
            .unwrap_err()
            .contains("crlf or lf"));
    }
}
