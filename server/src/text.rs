//! Text that people typed (customer names, addresses, notes, answers, user
//! names) and the characters in it that must not act unseen.
//!
//! Two kinds of character can make text lie about itself on a screen:
//!
//! * **bidirectional controls** (the Unicode `Bidi_Control` set: U+061C,
//!   U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) reorder what follows them,
//!   so `"\u{202E}fdp.exe"` reads as `exe.pdf`, and an unclosed override can
//!   flip the rest of a page line;
//! * **control characters** (C0 U+0000–U+001F, DEL U+007F, C1
//!   U+0080–U+009F) are invisible or move the cursor.
//!
//! The console shows every such character as a visible escape such as
//! `⟨U+202E⟩` ([`visible_line`], [`visible_text`]) inside an isolating element,
//! and the admin commands refuse them in user names
//! ([`crate::admin::check_new_user`]).

use std::fmt::Write as _;

/// Whether `c` is a bidirectional formatting character (`Bidi_Control`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` is a control character: C0, DEL or C1.
pub fn is_control_char(c: char) -> bool {
    c.is_control()
}

/// Whether `c` must never act unseen: a bidirectional or control character.
pub fn is_hidden_format(c: char) -> bool {
    is_bidi_control(c) || is_control_char(c)
}

/// The visible escape of a character, e.g. `⟨U+202E⟩`.
fn escape_into(out: &mut String, c: char) {
    let _ = write!(out, "⟨U+{:04X}⟩", u32::from(c));
}

/// One line of typed text (a name, an address, a reference) as it may be
/// shown: every bidirectional and control character, line breaks and tabs
/// included, replaced by its visible escape. Other text is unchanged.
pub fn visible_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden_format(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Free text (a note, a comment, an answer) as it may be shown: like
/// [`visible_line`], but line breaks and tabs stay (a CR LF becomes a line
/// break; a lone CR is escaped).
pub fn visible_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            c if is_hidden_format(c) => escape_into(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_control_characters_become_visible_escapes() {
        assert_eq!(visible_line("王\u{202E}fdp.exe"), "王⟨U+202E⟩fdp.exe");
        assert_eq!(
            visible_line("a\u{2066}b\u{2069}\u{200F}\u{061C}"),
            "a⟨U+2066⟩b⟨U+2069⟩⟨U+200F⟩⟨U+061C⟩"
        );
        assert_eq!(
            visible_line("x\u{0}\u{7}\u{1B}[2J\u{7F}\u{85}"),
            "x⟨U+0000⟩⟨U+0007⟩⟨U+001B⟩[2J⟨U+007F⟩⟨U+0085⟩"
        );
        assert_eq!(visible_line("two\nlines\t"), "two⟨U+000A⟩lines⟨U+0009⟩");
        // Ordinary text, right-to-left letters included, is left alone.
        assert_eq!(visible_line("北京 שלום مرحبا ok"), "北京 שלום مرحبا ok");
    }

    #[test]
    fn free_text_keeps_its_line_breaks() {
        assert_eq!(
            visible_text("one\r\ntwo\n\tthree\r\u{202E}"),
            "one\ntwo\n\tthree⟨U+000D⟩⟨U+202E⟩"
        );
    }

    #[test]
    fn the_sets_are_exactly_the_named_ranges() {
        let bidi: Vec<u32> = (0..0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| is_bidi_control(*c))
            .map(u32::from)
            .collect();
        assert_eq!(
            bidi,
            [
                0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
                0x2068, 0x2069
            ]
        );
        let controls = (0..0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| is_control_char(*c))
            .count();
        assert_eq!(controls, 32 + 1 + 32);
    }
}
