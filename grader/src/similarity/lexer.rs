//! The tokenizer behind the similarity report (and the class generator's disguises): C
//! and Rust source split into identifiers, keywords, literals, punctuation and (C)
//! preprocessor lines, each with its byte range and line; comments and white space are
//! dropped.

use std::path::Path;

/// Source language, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `.c`, `.h`.
    C,
    /// `.rs`.
    Rust,
}

impl Lang {
    /// The language of a source file, `None` for anything else.
    pub fn of(path: &Path) -> Option<Lang> {
        match path.extension()?.to_str()? {
            "c" | "h" => Some(Lang::C),
            "rs" => Some(Lang::Rust),
            _ => None,
        }
    }
}

/// Token classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// A name that is not a keyword.
    Ident,
    /// A C or Rust keyword (kept as is: structure, not naming).
    Keyword,
    /// A numeric literal.
    Number,
    /// A string literal (any kind).
    Str,
    /// A character literal.
    Char,
    /// A Rust lifetime or loop label.
    Lifetime,
    /// One punctuation character.
    Punct,
    /// A C preprocessor line (with its continuations).
    Directive,
}

/// One token: its class, where it is (byte range) and its line (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Class.
    pub kind: TokKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset past the last character.
    pub end: usize,
    /// Line of the first character.
    pub line: u32,
}

const KEYWORDS: &[&str] = &[
    // C
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
    "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", // Rust (those not above)
    "as", "async", "await", "crate", "dyn", "false", "fn", "impl", "in", "let", "loop", "match",
    "mod", "move", "mut", "pub", "ref", "self", "Self", "super", "trait", "true", "type", "unsafe",
    "use", "where",
];

/// Whether a word is a keyword of either language.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    lang: Lang,
    at_line_start: bool,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn bump(&mut self) {
        if self.peek(0) == b'\n' {
            self.line += 1;
            self.at_line_start = true;
        }
        self.pos += 1;
    }

    fn skip_trivia(&mut self) {
        loop {
            match (self.peek(0), self.peek(1)) {
                (b' ' | b'\t' | b'\r' | b'\n' | b'\x0c', _) => self.bump(),
                (b'/', b'/') => {
                    while self.pos < self.src.len() && self.peek(0) != b'\n' {
                        self.bump();
                    }
                }
                (b'/', b'*') => self.block_comment(),
                _ => return,
            }
        }
    }

    /// Rust block comments nest; C ones end at the first `*/`.
    fn block_comment(&mut self) {
        let mut depth = 0;
        while self.pos < self.src.len() {
            if self.peek(0) == b'/'
                && self.peek(1) == b'*'
                && (depth == 0 || self.lang == Lang::Rust)
            {
                depth += 1;
                self.pos += 2;
            } else if self.peek(0) == b'*' && self.peek(1) == b'/' {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.bump();
            }
        }
    }

    fn next(&mut self) -> Option<Token> {
        self.skip_trivia();
        if self.pos >= self.src.len() {
            return None;
        }
        let (start, line, line_start) = (self.pos, self.line, self.at_line_start);
        self.at_line_start = false;
        let c = self.peek(0);
        let kind = match c {
            b'#' if self.lang == Lang::C && line_start => self.directive(),
            b'"' => self.string(),
            b'r' | b'b' if self.lang == Lang::Rust && self.raw_or_byte_string() => TokKind::Str,
            b'\'' => self.quote(),
            b'0'..=b'9' => self.number(),
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => self.word(start),
            _ => {
                self.bump();
                TokKind::Punct
            }
        };
        Some(Token {
            kind,
            start,
            end: self.pos,
            line,
        })
    }

    fn directive(&mut self) -> TokKind {
        while self.pos < self.src.len() && self.peek(0) != b'\n' {
            if self.peek(0) == b'\\' && self.peek(1) == b'\n' {
                self.bump();
            }
            self.bump();
        }
        TokKind::Directive
    }

    fn string(&mut self) -> TokKind {
        self.bump();
        while self.pos < self.src.len() && self.peek(0) != b'"' {
            if self.peek(0) == b'\\' {
                self.bump();
            }
            self.bump();
        }
        self.bump();
        TokKind::Str
    }

    /// `r"…"`, `r#"…"#`, `b"…"`, `br"…"`: consumed when present.
    fn raw_or_byte_string(&mut self) -> bool {
        let mut i = 0;
        if self.peek(i) == b'b' {
            i += 1;
        }
        let raw = self.peek(i) == b'r';
        if raw {
            i += 1;
        }
        let hashes = (0..).take_while(|h| self.peek(i + h) == b'#').count();
        if self.peek(i + hashes) != b'"' || (!raw && (hashes > 0 || i == 0)) {
            return false;
        }
        for _ in 0..i + hashes {
            self.bump();
        }
        if !raw {
            self.string();
            return true;
        }
        self.bump();
        while self.pos < self.src.len() {
            if self.peek(0) == b'"' && (1..=hashes).all(|h| self.peek(h) == b'#') {
                for _ in 0..=hashes {
                    self.bump();
                }
                return true;
            }
            self.bump();
        }
        true
    }

    /// A character literal, or (Rust) a lifetime or label: `'a'` vs `'a`.
    fn quote(&mut self) -> TokKind {
        self.bump();
        let char_len = std::str::from_utf8(&self.src[self.pos..])
            .ok()
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8);
        let is_char = self.lang == Lang::C || self.peek(0) == b'\\' || self.peek(char_len) == b'\'';
        if !is_char {
            while self.peek(0) == b'_' || self.peek(0).is_ascii_alphanumeric() {
                self.bump();
            }
            return TokKind::Lifetime;
        }
        while self.pos < self.src.len() && self.peek(0) != b'\'' && self.peek(0) != b'\n' {
            if self.peek(0) == b'\\' {
                self.bump();
            }
            self.bump();
        }
        self.bump();
        TokKind::Char
    }

    fn number(&mut self) -> TokKind {
        loop {
            let c = self.peek(0);
            if c == b'_'
                || c.is_ascii_alphanumeric()
                || (c == b'.' && self.peek(1).is_ascii_digit())
            {
                self.bump();
            } else {
                return TokKind::Number;
            }
        }
    }

    fn word(&mut self, start: usize) -> TokKind {
        while self.peek(0) == b'_' || self.peek(0).is_ascii_alphanumeric() || self.peek(0) >= 0x80 {
            self.bump();
        }
        let word = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        if is_keyword(word) {
            TokKind::Keyword
        } else {
            TokKind::Ident
        }
    }
}

/// Splits C or Rust source into tokens; comments and white space are dropped.
pub fn tokenize(src: &str, lang: Lang) -> Vec<Token> {
    let mut lx = Lexer {
        src: src.as_bytes(),
        pos: 0,
        line: 1,
        lang,
        at_line_start: true,
    };
    std::iter::from_fn(|| lx.next()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_SRC: &str = "#include <stdio.h>\n/* a comment */\nstatic int total(int *v, int n)\n{\n    int s = 0;\n    for (int i = 0; i < n; i++)\n        s += v[i];\n    return s;\n}\nint main(void) { int v[3] = {1, 2, 3}; printf(\"%d\\n\", total(v, 3)); return 0; }\n";

    fn kinds(src: &str, lang: Lang) -> Vec<(TokKind, String)> {
        tokenize(src, lang)
            .iter()
            .map(|t| (t.kind, src[t.start..t.end].to_string()))
            .collect()
    }

    #[test]
    fn rust_lexing_tells_chars_from_lifetimes_and_raw_strings() {
        let src = "fn f<'a>(x: &'a str) -> char { let _ = r#\"a \"q\" b\"#; 'x' } // end";
        let k = kinds(src, Lang::Rust);
        assert!(k.contains(&(TokKind::Lifetime, "'a".into())), "{k:?}");
        assert!(
            k.contains(&(TokKind::Str, "r#\"a \"q\" b\"#".into())),
            "{k:?}"
        );
        assert!(k.contains(&(TokKind::Char, "'x'".into())), "{k:?}");
        assert!(
            !k.iter().any(|(_, t)| t.contains("end")),
            "comments are dropped"
        );
    }

    #[test]
    fn c_directives_are_one_token_and_lines_are_counted() {
        let toks = tokenize(C_SRC, Lang::C);
        assert_eq!(toks[0].kind, TokKind::Directive);
        let total = toks
            .iter()
            .find(|t| &C_SRC[t.start..t.end] == "total")
            .unwrap();
        assert_eq!(total.line, 3);
    }
}
