//! The only place that knows LSP positions: lines plus UTF-8 or UTF-16 code units.
//!
//! Everything else in otel-lsp speaks UTF-8 byte offsets into the text. A document's rope
//! (ropey, with `cr_lines`, so lines end at `\n`, `\r\n` or a lone `\r` exactly as LSP counts
//! them) turns positions into byte offsets and back in O(log n).
//!
//! Conversions never fail and never panic: a line past the end of the file means the end of
//! the file, a column past the end of a line means the end of that line (before its line
//! break), and a column inside a character (a UTF-16 low surrogate, a UTF-8 continuation
//! byte) means the start of that character.

use otel_lsp::diagnostic::Span;
use ropey::Rope;
use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

/// The code unit that the client and the server agreed on for `Position.character`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Bytes of UTF-8: what Helix and Neovim offer, and what the engine uses inside.
    Utf8,
    /// UTF-16 code units: the LSP default every client supports.
    #[default]
    Utf16,
}

impl Encoding {
    /// Picks UTF-8 when the client offers it, else the mandatory UTF-16.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let utf8 = offered.is_some_and(|o| o.contains(&PositionEncodingKind::UTF8));
        if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        }
    }

    /// The LSP name of the encoding, for `ServerCapabilities.positionEncoding`.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }
    }
}

/// Byte offset of the end of line `line`'s content, before its line break.
fn line_content_end(rope: &Rope, line: usize) -> usize {
    let start = rope.line_to_byte(line);
    let slice = rope.line(line);
    let mut len = slice.len_bytes();
    let chars = slice.len_chars();
    if chars > 0 {
        match slice.char(chars - 1) {
            '\n' => {
                len -= 1;
                if chars > 1 && slice.char(chars - 2) == '\r' {
                    len -= 1;
                }
            }
            '\r' => len -= 1,
            _ => {}
        }
    }
    start + len
}

/// Rounds a byte offset down to the start of the character it falls in.
fn char_floor(rope: &Rope, byte: usize) -> usize {
    let byte = byte.min(rope.len_bytes());
    rope.char_to_byte(rope.byte_to_char(byte))
}

/// The byte offset of an LSP position, clamped into the text.
pub fn offset(rope: &Rope, pos: Position, enc: Encoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_bytes();
    }
    let start = rope.line_to_byte(line);
    let end = line_content_end(rope, line);
    let col = pos.character as usize;
    match enc {
        Encoding::Utf8 => char_floor(rope, start.saturating_add(col).min(end)),
        Encoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(rope.byte_to_char(start));
            let end_cu = rope.char_to_utf16_cu(rope.byte_to_char(end));
            let cu = start_cu.saturating_add(col).min(end_cu);
            rope.char_to_byte(rope.utf16_cu_to_char(cu))
        }
    }
}

/// The LSP position of a byte offset (clamped into the text, rounded down to a character).
pub fn position(rope: &Rope, byte: usize, enc: Encoding) -> Position {
    let byte = char_floor(rope, byte);
    let line = rope.byte_to_line(byte);
    let start = rope.line_to_byte(line);
    let col = match enc {
        Encoding::Utf8 => byte - start,
        Encoding::Utf16 => {
            rope.char_to_utf16_cu(rope.byte_to_char(byte))
                - rope.char_to_utf16_cu(rope.byte_to_char(start))
        }
    };
    Position::new(to_u32(line), to_u32(col))
}

/// The LSP range of a byte span.
pub fn range(rope: &Rope, span: Span, enc: Encoding) -> Range {
    Range::new(
        position(rope, span.start, enc),
        position(rope, span.end, enc),
    )
}

/// The byte span of an LSP range; a reversed range is read as empty at its start.
pub fn span(rope: &Rope, range: Range, enc: Encoding) -> Span {
    let start = offset(rope, range.start, enc);
    let end = offset(rope, range.end, enc).max(start);
    Span::new(start, end)
}

/// Positions of many byte offsets of one text, found by walking the text from the last
/// offset asked for instead of searching the rope each time: the diagnostics of a check come
/// sorted, so converting all of them reads the text about once. Gives exactly what
/// [`position`] gives on a rope of the same text.
pub struct Positions<'a> {
    text: &'a [u8],
    /// An offset and the number of line breaks that end before it.
    at: usize,
    line: usize,
}

impl<'a> Positions<'a> {
    pub fn new(text: &'a str) -> Self {
        Positions {
            text: text.as_bytes(),
            at: 0,
            line: 0,
        }
    }

    /// Whether a line break ends at `i` (a `\n`, or a `\r` not followed by one).
    fn ends_line(&self, i: usize) -> bool {
        self.text[i] == b'\n' || self.text.get(i + 1) != Some(&b'\n')
    }

    fn breaks_in(&self, from: usize, to: usize) -> usize {
        let s = &self.text[from..to];
        // Counted in blocks with a byte-wide sum, which vectorises (a plain filtered count
        // is five times slower on a 5 MB file); `\r` is rare, and ends a line only alone.
        let newlines: usize = s
            .chunks(128)
            .map(|c| usize::from(c.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>()))
            .sum();
        let lone_cr = memchr::memchr_iter(b'\r', s)
            .filter(|&i| self.text.get(from + i + 1) != Some(&b'\n'))
            .count();
        newlines + lone_cr
    }

    /// The LSP position of `byte` (clamped into the text, rounded down to a character).
    pub fn position(&mut self, byte: usize, enc: Encoding) -> Position {
        let text = self.text;
        let mut byte = byte.min(text.len());
        // Not a character's first byte: a UTF-8 continuation byte (10xxxxxx).
        while byte > 0 && byte < text.len() && text[byte] & 0xC0 == 0x80 {
            byte -= 1;
        }
        if byte >= self.at {
            self.line += self.breaks_in(self.at, byte);
        } else {
            self.line -= self.breaks_in(byte, self.at);
        }
        self.at = byte;
        let start = memchr::memrchr2_iter(b'\n', b'\r', &text[..byte])
            .find(|&i| self.ends_line(i))
            .map_or(0, |i| i + 1);
        let col = match enc {
            Encoding::Utf8 => byte - start,
            Encoding::Utf16 => {
                // Valid UTF-8 between two character starts: count its UTF-16 units.
                let units = |b: &u8| match *b {
                    0x80..=0xBF => 0,
                    0xF0..=0xFF => 2,
                    _ => 1,
                };
                text[start..byte].iter().map(units).sum()
            }
        };
        Position::new(to_u32(self.line), to_u32(col))
    }

    /// The LSP range of a byte span.
    pub fn range(&mut self, span: Span, enc: Encoding) -> Range {
        Range::new(self.position(span.start, enc), self.position(span.end, enc))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    /// Every character boundary survives a round trip through a position.
    fn round_trips(text: &str) {
        let rope = Rope::from_str(text);
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            for (b, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let pos = position(&rope, b, enc);
                let back = offset(&rope, pos, enc);
                // A position at a line break maps back to the end of that line's content.
                if text[b..].starts_with('\n') && b > 0 && text.as_bytes()[b - 1] == b'\r' {
                    assert_eq!(back, b - 1, "{text:?} {b} {enc:?}");
                } else {
                    assert_eq!(back, b, "{text:?} {b} {enc:?}");
                }
            }
        }
    }

    #[test]
    fn emoji_and_cjk_before_a_span() {
        // 🎉 is 4 bytes and 2 UTF-16 units; 日本 are 3 bytes and 1 unit each.
        let text = "x = '🎉日本'; app.run(debug=True)\n";
        let rope = Rope::from_str(text);
        let at = text.find("app").unwrap();
        assert_eq!(at, 18);
        assert_eq!(position(&rope, at, Encoding::Utf8), p(0, 18));
        assert_eq!(position(&rope, at, Encoding::Utf16), p(0, 12));
        assert_eq!(offset(&rope, p(0, 12), Encoding::Utf16), at);
        assert_eq!(offset(&rope, p(0, 18), Encoding::Utf8), at);
        round_trips(text);
        round_trips("日本語\n🎉🎉\n\nend");
    }

    #[test]
    fn inside_a_character_rounds_down() {
        let text = "a🎉b";
        let rope = Rope::from_str(text);
        // UTF-16 unit 2 is the low surrogate of 🎉; UTF-8 byte 3 is inside it.
        assert_eq!(offset(&rope, p(0, 2), Encoding::Utf16), 1);
        assert_eq!(offset(&rope, p(0, 3), Encoding::Utf16), 5);
        assert_eq!(offset(&rope, p(0, 3), Encoding::Utf8), 1);
        assert_eq!(position(&rope, 3, Encoding::Utf16), p(0, 1));
    }

    #[test]
    fn crlf_and_lone_cr_line_ends() {
        let text = "ab\r\ncd\re\nf";
        let rope = Rope::from_str(text);
        assert_eq!(rope.len_lines(), 4);
        assert_eq!(offset(&rope, p(1, 0), Encoding::Utf16), 4);
        assert_eq!(offset(&rope, p(2, 0), Encoding::Utf8), 7);
        assert_eq!(position(&rope, 9, Encoding::Utf16), p(3, 0));
        // Past the end of a CRLF line: before the `\r`.
        assert_eq!(offset(&rope, p(0, 99), Encoding::Utf16), 2);
        assert_eq!(offset(&rope, p(1, 99), Encoding::Utf8), 6);
        round_trips(text);
        round_trips("é\r\n\r\n🎉\r\n");
    }

    #[test]
    fn past_the_end_clamps() {
        let text = "héllo\nworld\n";
        let rope = Rope::from_str(text);
        for enc in [Encoding::Utf8, Encoding::Utf16] {
            assert_eq!(offset(&rope, p(0, 1000), enc), 6, "{enc:?}");
            assert_eq!(offset(&rope, p(2, 5), enc), text.len());
            assert_eq!(offset(&rope, p(99, 0), enc), text.len());
            assert_eq!(offset(&rope, p(u32::MAX, u32::MAX), enc), text.len());
            assert_eq!(position(&rope, 10_000, enc), p(2, 0));
        }
        let empty = Rope::from_str("");
        assert_eq!(offset(&empty, p(3, 3), Encoding::Utf16), 0);
        assert_eq!(position(&empty, 7, Encoding::Utf8), p(0, 0));
        let r = span(&rope, Range::new(p(1, 3), p(0, 1)), Encoding::Utf16);
        assert_eq!(r, Span::new(10, 10));
    }

    /// The walking converter agrees with the rope on every offset (boundaries or not), in
    /// any order, across CRLF, lone CR, multi-byte characters and the ends of the text.
    #[test]
    fn positions_walk_agrees_with_the_rope() {
        let texts = [
            "",
            "a",
            "\n\n",
            "ab\r\ncd\re\nf",
            "\r\r\n\r",
            "é\r\n\r\n🎉\r\n",
            "x = '🎉日本'; app.run(debug=True)\nnext\r\n日本語\n🎉🎉\n\nend",
        ];
        for text in texts {
            let rope = Rope::from_str(text);
            let n = text.len();
            // Forward, backward, and jumping about.
            let mut order: Vec<usize> = (0..=n + 2).collect();
            order.extend((0..=n + 2).rev());
            order.extend((0..=n).map(|i| (i * 7 + 3) % (n + 1)));
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                let mut walk = Positions::new(text);
                for &b in &order {
                    assert_eq!(
                        walk.position(b, enc),
                        position(&rope, b, enc),
                        "{text:?} at {b} {enc:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn negotiation_prefers_utf8() {
        let both = [PositionEncodingKind::UTF16, PositionEncodingKind::UTF8];
        assert_eq!(Encoding::negotiate(Some(&both)), Encoding::Utf8);
        assert_eq!(Encoding::negotiate(Some(&both[..1])), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
    }
}
