//! Input validation, before anything reaches Redis.
//!
//! Ids, usernames and other values that end up inside key names are checked against a
//! strict charset here, so `{`, `}`, `:`, `*` or whitespace can never forge another key
//! or move a key to another cluster slot. Errors are collected per field, so one 422
//! names every bad field at once.

use std::collections::BTreeMap;

use crate::error::AppError;

/// Collects field errors; `finish` turns them into one 422.
#[derive(Default)]
pub(crate) struct Validator {
    errors: BTreeMap<String, String>,
}

impl Validator {
    pub(crate) fn new() -> Validator {
        Validator::default()
    }

    pub(crate) fn check(&mut self, field: &str, result: Result<(), String>) -> &mut Validator {
        if let Err(message) = result {
            self.errors.entry(field.to_string()).or_insert(message);
        }
        self
    }

    pub(crate) fn finish(&mut self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(std::mem::take(&mut self.errors)))
        }
    }
}

/// An id used in a key: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub(crate) fn id(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 64 characters: letters, digits, _ or -".to_string())
}

/// Validates a path id as one field, as a 422 naming it.
pub(crate) fn path_id(field: &str, value: &str) -> Result<(), AppError> {
    id(value).map_err(|message| AppError::invalid(field, message))
}

/// A username: 3 to 32 of `a-z A-Z 0-9 _ - .`, starting with a letter or digit.
pub(crate) fn username(value: &str) -> Result<(), String> {
    let ok = (3..=32).contains(&value.len())
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then_some(()).ok_or_else(|| {
        "must be 3 to 32 characters: letters, digits, _ - . (starting with a letter or digit)"
            .to_string()
    })
}

/// A pragmatic e-mail check: one `@`, a dot in the domain, no spaces, at most 254 bytes.
pub(crate) fn email(value: &str) -> Result<(), String> {
    let ok = value.len() <= 254
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_format(c))
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    ok.then_some(())
        .ok_or_else(|| "must be an e-mail address like name@example.com".to_string())
}

/// A password: 8 to 128 characters (longer ones only cost hashing time).
pub(crate) fn password(value: &str) -> Result<(), String> {
    let n = value.chars().count();
    (8..=128)
        .contains(&n)
        .then_some(())
        .ok_or_else(|| "must be 8 to 128 characters".to_string())
}

/// Free text over several lines (a bio, a post or comment body, a description): at
/// most `max_chars` characters; newlines and tabs are allowed, but not the characters
/// [`multi_line_forbidden`] lists (other controls, line/paragraph separators, bidi
/// overrides and isolates, ...). May be empty.
pub(crate) fn text(value: &str, max_chars: usize) -> Result<(), String> {
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if let Some(c) = multi_line_forbidden(value) {
        return Err(forbidden_message(c));
    }
    Ok(())
}

/// [`text`] that must hold something visible (a post or comment body).
pub(crate) fn required_multi_line(value: &str, max_chars: usize) -> Result<(), String> {
    if is_blank(value) {
        return Err("must not be empty".to_string());
    }
    text(value, max_chars)
}

/// One line of text that may be empty (a config value): at most `max_chars`
/// characters, none of those [`one_line_forbidden`] lists.
pub(crate) fn line(value: &str, max_chars: usize) -> Result<(), String> {
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if let Some(c) = one_line_forbidden(value) {
        return Err(forbidden_message(c));
    }
    Ok(())
}

/// One line of text that must hold something visible: a name, a title, a product name,
/// a login. Blank means nothing but whitespace and invisible characters (zero-width
/// spaces and joiners, fillers, variation selectors), so a name of U+200B alone is
/// refused as empty.
pub(crate) fn required_text(value: &str, max_chars: usize) -> Result<(), String> {
    if is_blank(value) {
        return Err("must not be empty".to_string());
    }
    line(value, max_chars)
}

fn forbidden_message(c: char) -> String {
    let what = match c {
        '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => "must be a single line",
        _ => "must not contain control or invisible formatting characters",
    };
    format!("{what} (found U+{:04X})", c as u32)
}

/// Unicode general category Cf (format), hand-listed from Unicode 16.0
/// (`DerivedGeneralCategory.txt`) rather than pulled in as a crate: soft hyphen, Arabic
/// number signs, zero-width space/joiners, direction marks, bidi embeddings, overrides
/// and isolates, invisible operators, BOM, interlinear annotation, Egyptian hieroglyph
/// and shorthand format controls, musical symbol beams, language tags.
pub(crate) fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder
/// the text around them, which is how `evil\u{202E}gpj.exe` displays as `evilexe.jpg`.
fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Characters that show nothing: whitespace, format characters, variation selectors,
/// the combining grapheme joiner and the Hangul and Braille "blank" letters used for
/// invisible names.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_format(c)
        || matches!(c as u32,
            0x034F | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F | 0x2800 | 0x3164
            | 0xFE00..=0xFE0F | 0xFFA0 | 0xE0100..=0xE01EF)
}

/// True when `value` holds nothing visible.
pub(crate) fn is_blank(value: &str) -> bool {
    value.chars().all(is_invisible)
}

/// An emoji tag sequence (the flags of England, Scotland, Wales: U+1F3F4 then tag
/// characters U+E0020–U+E007F) is the one legitimate use of tag characters, which
/// otherwise carry invisible ASCII. True for a tag character that continues one.
fn continues_emoji_tag(previous: Option<char>, c: char) -> bool {
    (0xE0020..=0xE007F).contains(&(c as u32))
        && previous.is_some_and(|p| p == '\u{1F3F4}' || (0xE0020..=0xE007E).contains(&(p as u32)))
}

/// The first character a one-line field refuses: every control (Cc, including tab
/// and newline), U+2028/U+2029 (Zl, Zp), and every format character (Cf) except a
/// zero-width (non-)joiner between two visible characters (Persian, Indic scripts and
/// emoji sequences need them) and the tag characters of an emoji flag.
pub(crate) fn one_line_forbidden(value: &str) -> Option<char> {
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let allowed = match c {
            '\u{200C}' | '\u{200D}' => {
                previous.is_some_and(|p| !is_invisible(p)) && next.is_some_and(|n| !is_invisible(n))
            }
            c if continues_emoji_tag(previous, c) => true,
            c => !(c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')),
        };
        if !allowed {
            return Some(c);
        }
    }
    None
}

/// The first character a multi-line field refuses: controls other than newline and
/// tab (so also `\r`: send `\n`), U+2028/U+2029, bidi embeddings, overrides and
/// isolates, the deprecated format characters U+206A–U+206F, a BOM, interlinear
/// annotation controls and tag characters outside an emoji flag. Zero-width spaces and
/// joiners, direction marks and soft hyphens stay allowed: running text in many
/// scripts uses them.
pub(crate) fn multi_line_forbidden(value: &str) -> Option<char> {
    let mut previous = None;
    for c in value.chars() {
        let forbidden = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
            || is_bidi_control(c)
            || matches!(c as u32, 0x206A..=0x206F | 0xFFF9..=0xFFFB | 0xE0001)
            || ((0xE0020..=0xE007F).contains(&(c as u32)) && !continues_emoji_tag(previous, c));
        if forbidden {
            return Some(c);
        }
        previous = Some(c);
    }
    None
}

/// An http(s) URL for an avatar.
pub(crate) fn url(value: &str) -> Result<(), String> {
    let ok = value.len() <= 500
        && (value.starts_with("https://") || value.starts_with("http://"))
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_format(c));
    ok.then_some(())
        .ok_or_else(|| "must be an http(s) URL of at most 500 characters".to_string())
}

/// A tag (already lower-cased): 1 to 32 of `a-z 0-9 _ - .`.
pub(crate) fn tag(value: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&value.len())
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        });
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 32 characters: letters, digits, _ - .".to_string())
}

/// An optional bounded query number: `default` when absent, 422 naming `field` when out
/// of `min..=max`.
pub(crate) fn bounded(
    field: &str,
    value: Option<u32>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, AppError> {
    let value = value.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_key_syntax() {
        for bad in ["", "a:b", "{1}", "a b", "a*", "é", &"x".repeat(65)] {
            assert!(id(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(id("1001").is_ok());
        assert!(id("me").is_ok());
    }

    #[test]
    fn tags_reject_key_syntax() {
        for bad in ["", "a:b", "{t}", "a b", "t*", "Upper", &"t".repeat(33)] {
            assert!(tag(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(tag("premium").is_ok());
        assert!(tag("rust-2024.x_y").is_ok());
    }

    #[test]
    fn usernames_and_emails() {
        assert!(username("alice_01").is_ok());
        assert!(username("_alice").is_err());
        assert!(username("al").is_err());
        assert!(username("a{b}c").is_err());
        assert!(email("a@example.com").is_ok());
        assert!(email("a@b").is_err());
        assert!(email("a b@example.com").is_err());
        assert!(email("@example.com").is_err());
    }

    /// Finding 21: zero-width-only and bidi-override names, and U+2028 in one-line
    /// fields, were accepted.
    #[test]
    fn one_line_fields_refuse_controls_format_characters_and_separators() {
        for bad in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{FEFF}",
            " \u{3164} ",
            "\u{2800}",
            "evil\u{202E}gpj.exe",
            "a\u{2066}b\u{2069}",
            "line\u{2028}break",
            "para\u{2029}graph",
            "tab\there",
            "new\nline",
            "nul\u{0}",
            "bom\u{FEFF}",
            "soft\u{AD}hyphen",
            "lrm\u{200E}",
            "smuggled\u{E0041}\u{E0042}",
            "\u{200D}leading joiner",
        ] {
            assert!(required_text(bad, 100).is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(
            required_text("\u{200B}", 100).unwrap_err(),
            "must not be empty"
        );
        assert!(
            required_text("a\u{2028}b", 100)
                .unwrap_err()
                .contains("U+2028")
        );
        for good in [
            "Alice Smith",
            "Zoë O'Brien-Łukasiewicz",
            "می\u{200C}خواهم",
            "👨\u{200D}👩\u{200D}👧",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Scotland",
            "中文 名字",
            "❤\u{FE0F} emoji",
        ] {
            assert!(
                required_text(good, 100).is_ok(),
                "{good:?} must be accepted"
            );
        }
        assert!(line("", 10).is_ok());
        assert!(line("dark\u{202E}", 10).is_err());
    }

    #[test]
    fn multi_line_fields_allow_newlines_and_tabs_but_not_bidi_controls() {
        assert!(text("first line\n\tsecond line", 100).is_ok());
        assert!(text("", 100).is_ok());
        assert!(text("zero\u{200B}width and rlm\u{200F} stay", 100).is_ok());
        for bad in [
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{2028}b",
            "a\u{2029}b",
            "a\rb",
            "a\u{1B}[31mred",
            "a\u{FEFF}b",
            "a\u{E0041}b",
        ] {
            assert!(text(bad, 100).is_err(), "{bad:?} must be rejected");
        }
        assert!(required_multi_line("\u{200B}\n\t ", 100).is_err());
        assert!(required_multi_line("hi", 100).is_ok());
    }

    #[test]
    fn emails_and_urls_refuse_invisible_characters() {
        assert!(email("a\u{200B}@example.com").is_err());
        assert!(url("https://example.com/\u{202E}gpj.exe").is_err());
    }

    #[test]
    fn the_format_list_matches_the_categories_it_names() {
        for c in [
            '\u{AD}',
            '\u{600}',
            '\u{200B}',
            '\u{202E}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0001}',
        ] {
            assert!(is_format(c), "{c:?}");
        }
        for c in ['a', ' ', '\u{2028}', '\u{FE0F}', '\u{3164}'] {
            assert!(!is_format(c), "{c:?}");
        }
    }
}
