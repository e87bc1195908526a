//! JSON measured without recursion, so any input is cheap and safe: the contract's nesting and
//! number-length limits are decided here, before serde_json runs. Its own recursion limit (128
//! levels) would answer a deep but malformed text as "too deep" instead of "malformed JSON", and
//! it would copy a number of any length.

/// A parse-time limit of the contract that a JSON text breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Objects and arrays nest deeper than allowed.
    Nesting,
    /// A number is longer than allowed (characters of JSON text: sign, digits, `.`, exponent).
    NumberLength,
}

/// The limit a JSON text breaks, in the contract's order (nesting before numbers), found in one
/// pass without recursion: it counts brackets outside strings (a scalar is level 0, `[]` level 1)
/// and the length of each run of number characters outside strings. The answer is exact for valid
/// JSON, where such runs are the numbers (the single `e` of `true` or `false` stays short). For
/// malformed text it may be wrong, which [`scan`] or the parser then reports.
///
/// When it says `None`, no prefix of the text that a parser accepts nests deeper than
/// `max_depth`, so a recursive parser with a larger limit never meets that limit, and no number
/// the parser reads is longer than `max_number_chars`.
pub fn exceeded_limit(text: &[u8], max_depth: usize, max_number_chars: usize) -> Option<Limit> {
    let mut depth = 0usize;
    let mut number_chars = 0usize;
    let mut long_number = false;
    let (mut in_string, mut escaped) = (false, false);
    for &c in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
            number_chars += 1;
            // Nesting is the earlier rule, so a long number only ends the pass at the end.
            long_number |= number_chars > max_number_chars;
            continue;
        }
        number_chars = 0;
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Some(Limit::Nesting);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    long_number.then_some(Limit::NumberLength)
}

/// What [`scan`] found in a valid JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// A string or member name spells U+0000 (as the escape `\u0000`; a raw control character is
    /// malformed).
    pub contains_nul: bool,
}

/// Checks that `text` is exactly one JSON value (RFC 8259, surrounding whitespace allowed) at any
/// depth, with the open containers on a heap stack of one byte each. `None` when it is not.
/// Escapes are checked as serde_json checks them (a lone UTF-16 surrogate is malformed); UTF-8
/// validity is the caller's business.
pub fn scan(text: &[u8]) -> Option<Scanned> {
    Scanner {
        text,
        pos: 0,
        contains_nul: false,
    }
    .run()
}

#[derive(Clone, Copy)]
enum Expect {
    /// A value must follow.
    Value,
    /// A member name must follow (after `,` in an object).
    Key,
    /// A value ended: `,`, a closing bracket or, at the top, the end.
    AfterValue,
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    contains_nul: bool,
}

impl Scanner<'_> {
    fn run(mut self) -> Option<Scanned> {
        // The closing bracket of each open container.
        let mut open: Vec<u8> = Vec::new();
        let mut expect = Expect::Value;
        loop {
            self.skip_whitespace();
            match expect {
                Expect::Value => {
                    let c = self.peek()?;
                    match c {
                        b'{' | b'[' => {
                            let close = if c == b'{' { b'}' } else { b']' };
                            self.pos += 1;
                            self.skip_whitespace();
                            if self.peek() == Some(close) {
                                // An empty container closes at once.
                                self.pos += 1;
                                expect = Expect::AfterValue;
                            } else {
                                open.push(close);
                                expect = if c == b'{' {
                                    Expect::Key
                                } else {
                                    Expect::Value
                                };
                            }
                            continue;
                        }
                        b'"' => self.string()?,
                        b'-' | b'0'..=b'9' => self.number()?,
                        _ => self.literal()?,
                    }
                    expect = Expect::AfterValue;
                }
                Expect::Key => {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    self.string()?;
                    self.skip_whitespace();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.pos += 1;
                    expect = Expect::Value;
                }
                Expect::AfterValue => {
                    let Some(&close) = open.last() else {
                        return (self.pos == self.text.len()).then_some(Scanned {
                            contains_nul: self.contains_nul,
                        });
                    };
                    match self.peek()? {
                        b',' => {
                            expect = if close == b'}' {
                                Expect::Key
                            } else {
                                Expect::Value
                            };
                        }
                        c if c == close => {
                            open.pop();
                        }
                        _ => return None,
                    }
                    self.pos += 1;
                }
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The string whose opening quote is at `pos`; leaves `pos` just past its closing quote.
    fn string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                b'"' => return Some(()),
                0x00..=0x1f => return None,
                b'\\' => match self.peek()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
                    b'u' => {
                        self.pos += 1;
                        let unit = self.hex4()?;
                        match unit {
                            0 => self.contains_nul = true,
                            // A high surrogate must be followed by an escaped low one.
                            0xD800..=0xDBFF => {
                                if self.text.get(self.pos..self.pos + 2)? != b"\\u" {
                                    return None;
                                }
                                self.pos += 2;
                                if !(0xDC00..=0xDFFF).contains(&self.hex4()?) {
                                    return None;
                                }
                            }
                            0xDC00..=0xDFFF => return None,
                            _ => {}
                        }
                    }
                    _ => return None,
                },
                _ => {}
            }
        }
    }

    fn hex4(&mut self) -> Option<u16> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let mut value = 0u16;
        for &d in digits {
            value = value * 16 + char::from(d).to_digit(16)? as u16;
        }
        self.pos += 4;
        Some(value)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.at_least_one_digit()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.at_least_one_digit()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn at_least_one_digit(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    fn literal(&mut self) -> Option<()> {
        let rest = &self.text[self.pos..];
        let literal = [&b"true"[..], b"false", b"null"]
            .into_iter()
            .find(|literal| rest.starts_with(literal))?;
        self.pos += literal.len();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize, inner: &str) -> String {
        format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels))
    }

    fn nests_deeper(text: &[u8], limit: usize) -> bool {
        exceeded_limit(text, limit, usize::MAX) == Some(Limit::Nesting)
    }

    #[test]
    fn nesting_is_counted_outside_strings() {
        assert!(!nests_deeper(b"1", 0));
        assert!(nests_deeper(b"[]", 0));
        assert!(!nests_deeper(b"[]", 1));
        assert!(!nests_deeper(nested(64, "1").as_bytes(), 64));
        assert!(nests_deeper(nested(65, "1").as_bytes(), 64));
        assert!(nests_deeper(nested(200_000, "").as_bytes(), 64));
        // Siblings do not add up.
        let siblings = format!("[{}]", vec![nested(63, ""); 10].join(","));
        assert!(!nests_deeper(siblings.as_bytes(), 64));
        // Brackets in strings, escaped quotes included, do not count.
        let text = format!(
            r#"["{}\"{}", {{"[[[": 1}}]"#,
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(!nests_deeper(text.as_bytes(), 2));
        assert!(nests_deeper(text.as_bytes(), 1));
        assert!(!nests_deeper(br#"["\\", []]"#, 2));
    }

    #[test]
    fn numbers_are_measured_in_characters_of_json_text() {
        let limit = |text: &str| exceeded_limit(text.as_bytes(), 64, 100);
        let digits = |n: usize| "7".repeat(n);
        for at_most_100 in [
            digits(100),
            format!("-{}", digits(99)),
            format!("1.{}", digits(98)),
            format!("-1.{}e+{}", digits(90), digits(5)),
            format!("[{}, {}]", digits(100), digits(100)),
            format!(r#"{{"k": {}}}"#, digits(100)),
            "[true, false, null, 1e5, -0.5E-3]".to_string(),
        ] {
            assert_eq!(limit(&at_most_100), None, "{at_most_100}");
        }
        for over_100 in [
            digits(101),
            format!("-{}", digits(100)),
            format!("1.{}", digits(99)),
            format!("1e{}", digits(99)),
            format!("-1.{}E-{}", digits(90), digits(7)),
            format!(r#"{{"a": [1, {{"b": {}}}], "c": 2}}"#, digits(101)),
            format!("[{}]", digits(100_000)),
        ] {
            assert_eq!(limit(&over_100), Some(Limit::NumberLength), "{over_100}");
        }
        // Digits in strings and keys are text.
        let in_strings = format!(r#"{{"{0}": "{0}"}}"#, digits(500));
        assert_eq!(limit(&in_strings), None);
        // Nesting is the earlier rule: it wins wherever the long number is.
        let both = format!("[{}, {}]", digits(101), nested(70, "1"));
        assert_eq!(limit(&both), Some(Limit::Nesting));
        assert_eq!(
            exceeded_limit(both.as_bytes(), 100, 100),
            Some(Limit::NumberLength)
        );
    }

    #[test]
    fn valid_json_at_any_depth() {
        for text in [
            "1",
            " -0.5e+10 ",
            "\t\r\n\"x\"\n",
            "true",
            "false",
            "null",
            "[]",
            "{}",
            "[ ]",
            "{ }",
            r#"{"a": [1, {"b": null}, "c\"\\\/\b\f\n\r\t\u00e9"], "d": {}}"#,
            r#""\ud83d\ude00""#,
            "[1e5, 1E-5, 0, -0, 12.50, 1e131072]",
        ] {
            assert_eq!(
                scan(text.as_bytes()),
                Some(Scanned {
                    contains_nul: false
                }),
                "{text:?}"
            );
        }
        assert!(scan(nested(200_000, "1").as_bytes()).is_some());
        let objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        assert!(scan(objects.as_bytes()).is_some());
    }

    #[test]
    fn malformed_json_at_any_depth() {
        for text in [
            "",
            " ",
            "[",
            "]",
            "{",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1: 2}",
            "{\"a\"}",
            "[1 2]",
            "1 2",
            "[1] 2",
            "[}",
            "{]",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "NaN",
            "nul",
            "True",
            "'a'",
            "\"unterminated",
            "\"tab\there\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\ud800\\u0041\"",
            "\"\\udc00\"",
            "\u{feff}{}",
        ] {
            assert_eq!(scan(text.as_bytes()), None, "{text:?}");
        }
        for inner in ["", "x", "1,", "]"] {
            let text = format!("{}{inner}", "[".repeat(200_000));
            assert_eq!(scan(text.as_bytes()), None, "{inner:?}");
        }
        assert_eq!(scan(format!("{} x", nested(200, "1")).as_bytes()), None);
    }

    #[test]
    fn the_nul_escape_is_found_in_values_and_keys() {
        let found = Some(Scanned { contains_nul: true });
        assert_eq!(scan(br#""\u0000""#), found);
        assert_eq!(scan(br#"{"k\u0000": 1}"#), found);
        assert_eq!(scan(nested(1000, r#""a\u0000b""#).as_bytes()), found);
        assert_eq!(
            scan(br#""\\u0000""#),
            Some(Scanned {
                contains_nul: false
            })
        );
    }
}
