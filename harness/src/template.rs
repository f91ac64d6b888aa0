//! Text with `{word}` placeholders (client and server files): finding them, and expanding
//! them in one pass.

/// The `{word}` placeholders in `text` (a word: ASCII letters, digits, `_`), with their byte
/// offsets. Other braces are text.
pub(crate) fn placeholders(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.match_indices('{').filter_map(move |(i, _)| {
        let rest = &text[i + 1..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| (i, &rest[..end]))
    })
}

/// Replaces each `{name}` of `vars` in one pass (a value is never expanded again).
pub(crate) fn expand<V: AsRef<str>>(text: &str, vars: &[(&str, V)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, name) in placeholders(text) {
        if let Some((_, v)) = vars.iter().find(|(k, _)| *k == name) {
            out.push_str(&text[last..i]);
            out.push_str(v.as_ref());
            last = i + name.len() + 2;
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_braces_are_text() {
        let p: Vec<_> = placeholders("a {b} {} {c d} {e_1}} {{f}").collect();
        assert_eq!(p, [(2, "b"), (15, "e_1"), (23, "f")]);
    }

    #[test]
    fn a_value_is_not_expanded_again() {
        let vars = [("a", "{b}"), ("b", "x")];
        assert_eq!(expand("{a}{b}{c}", &vars), "{b}x{c}");
    }

    proptest::proptest! {
        #[test]
        fn expanding_without_placeholders_is_identity(text in "[^{}]{0,100}") {
            proptest::prop_assert_eq!(expand(&text, &[("x", "y")]), text);
        }
    }
}
