//! Text from clients and the wire, made safe to show: control characters made visible,
//! long text cut with a note of how much was left out. (HTML escaping is maud's.)

/// Replaces control characters other than newline and tab with their visible forms
/// (U+2400 block), so terminal escapes and NULs cannot disturb a page or a CI log.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\r' => '\u{240d}',
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            c => c,
        })
        .collect()
}

/// At most `max` bytes of `text` (cut on a character boundary), with a note of the rest.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n... ({} more bytes not shown)",
        &text[..end],
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_truncates() {
        assert_eq!(
            clean("a\x1b[31mb\0\r\n"),
            "a\u{241b}[31mb\u{2400}\u{240d}\n"
        );
        assert_eq!(truncate("héllo", 2), "h\n... (5 more bytes not shown)");
        assert_eq!(truncate("ok", 10), "ok");
    }
}
