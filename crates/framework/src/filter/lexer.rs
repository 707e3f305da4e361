//! Tokeniser for PocketBase's filter language (`title ~ 'x' && views > 2`).

use super::FilterError;

/// A comparison operator; `any` is the `?`-prefixed "at least one matches" form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sign {
    pub op: Op,
    pub any: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    NotLike,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    Ident(String),
    Text(String),
    Number(f64),
    Sign(Sign),
    And,
    Or,
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte offset of the token's first character.
    pub start: usize,
    /// Byte offset just past the token.
    pub end: usize,
}

#[cfg(test)]
pub fn tokenize(src: &str) -> Result<Vec<Token>, FilterError> {
    tokenize_with(src, &Params::new())
}

/// Values bound to `{:name}` placeholders by server code (never by clients).
pub type Params = serde_json::Map<String, serde_json::Value>;

/// [`tokenize`], with each `{:name}` placeholder read as the token of its bound value:
/// the value is never written into the filter text, so no quoting can go wrong.
pub fn tokenize_with(src: &str, params: &Params) -> Result<Vec<Token>, FilterError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' if bytes.get(i + 1) == Some(&b':') => {
                let (kind, next) = lex_param(src, i, params)?;
                out.push(tok(kind, start, next));
                i = next;
            }
            b'(' => {
                out.push(tok(TokenKind::LParen, start, i + 1));
                i += 1;
            }
            b')' => {
                out.push(tok(TokenKind::RParen, start, i + 1));
                i += 1;
            }
            b',' => {
                out.push(tok(TokenKind::Comma, start, i + 1));
                i += 1;
            }
            b'&' | b'|' => {
                if bytes.get(i + 1) != Some(&c) {
                    return Err(FilterError::at(
                        start,
                        format!("unexpected '{}'", c as char),
                    ));
                }
                let kind = if c == b'&' {
                    TokenKind::And
                } else {
                    TokenKind::Or
                };
                out.push(tok(kind, start, i + 2));
                i += 2;
            }
            b'\'' | b'"' => {
                let (text, next) = lex_text(src, i)?;
                out.push(tok(TokenKind::Text(text), start, next));
                i = next;
            }
            b'=' | b'!' | b'>' | b'<' | b'~' | b'?' => {
                let (sign, next) = lex_sign(bytes, i)?;
                out.push(tok(TokenKind::Sign(sign), start, next));
                i = next;
            }
            b'-' | b'0'..=b'9' => {
                let (n, next) = lex_number(src, i)?;
                out.push(tok(TokenKind::Number(n), start, next));
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || c == b'#' => {
                let mut j = i + 1;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'_' | b'.' | b':'))
                {
                    j += 1;
                }
                let ident = &src[i..j];
                if ident.ends_with('.') || ident.ends_with(':') {
                    return Err(FilterError::at(
                        j - 1,
                        format!("identifier '{ident}' may not end with '.' or ':'"),
                    ));
                }
                if matches!(ident, "@" | "_" | "#") {
                    return Err(FilterError::at(
                        start,
                        format!("invalid identifier '{ident}'"),
                    ));
                }
                out.push(tok(TokenKind::Ident(ident.to_string()), start, j));
                i = j;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(FilterError::at(
                    start,
                    format!("unexpected character '{ch}'"),
                ));
            }
        }
    }
    Ok(out)
}

fn tok(kind: TokenKind, start: usize, end: usize) -> Token {
    Token { kind, start, end }
}

/// `{:name}` as the token of `params[name]`: text, a number, or `true`/`false`/`null`;
/// arrays and objects become their JSON text (as PocketBase's JS SDK binds them).
fn lex_param(src: &str, start: usize, params: &Params) -> Result<(TokenKind, usize), FilterError> {
    let name_start = start + 2;
    let len = src[name_start..]
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let end = name_start + len;
    if len == 0 || src.as_bytes().get(end) != Some(&b'}') {
        return Err(FilterError::at(start, "a placeholder is written {:name}"));
    }
    let name = &src[name_start..end];
    use serde_json::Value;
    let kind = match params.get(name) {
        None => {
            return Err(FilterError::at(
                start,
                format!("no value is bound to {{:{name}}}"),
            ))
        }
        Some(Value::String(s)) => TokenKind::Text(s.clone()),
        Some(Value::Number(n)) => TokenKind::Number(n.as_f64().unwrap_or(0.0)),
        Some(Value::Bool(b)) => TokenKind::Ident(b.to_string()),
        Some(Value::Null) => TokenKind::Ident("null".into()),
        Some(other) => TokenKind::Text(other.to_string()),
    };
    Ok((kind, end + 1))
}

/// Quoted text, read as PocketBase 0.40 reads it (checked against its binary): in either
/// kind of quotes `\\`, `\'`, `\"`, `\n`, `\t` and `\r` are escapes, and any other
/// backslash stays as it is (`'back\slash'`). That covers what the JS SDK's `pb.filter()`
/// writes (JSON string syntax) and what older SDKs wrote (`'it\'s'`).
fn lex_text(src: &str, start: usize) -> Result<(String, usize), FilterError> {
    let bytes = src.as_bytes();
    let quote = bytes[start];
    let mut out = String::new();
    let mut i = start + 1;
    let mut seg = i;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let unescaped = match bytes.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'\'') => '\'',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    Some(b't') => '\t',
                    Some(b'r') => '\r',
                    _ => {
                        i += 1;
                        continue;
                    }
                };
                out.push_str(&src[seg..i]);
                out.push(unescaped);
                i += 2;
                seg = i;
            }
            b if b == quote => {
                out.push_str(&src[seg..i]);
                return Ok((out, i + 1));
            }
            _ => i += 1,
        }
    }
    Err(FilterError::at(start, "unterminated text literal"))
}

fn lex_sign(bytes: &[u8], start: usize) -> Result<(Sign, usize), FilterError> {
    let mut i = start;
    let any = bytes[i] == b'?';
    if any {
        i += 1;
    }
    let two = (bytes.get(i).copied(), bytes.get(i + 1).copied());
    let (op, len) = match two {
        (Some(b'!'), Some(b'=')) => (Op::Neq, 2),
        (Some(b'!'), Some(b'~')) => (Op::NotLike, 2),
        (Some(b'>'), Some(b'=')) => (Op::Gte, 2),
        (Some(b'<'), Some(b'=')) => (Op::Lte, 2),
        (Some(b'='), _) => (Op::Eq, 1),
        (Some(b'>'), _) => (Op::Gt, 1),
        (Some(b'<'), _) => (Op::Lt, 1),
        (Some(b'~'), _) => (Op::Like, 1),
        _ => return Err(FilterError::at(start, "invalid operator")),
    };
    Ok((Sign { op, any }, i + len))
}

/// Optional leading `-`, digits, at most one inner `.`; no exponent.
fn lex_number(src: &str, start: usize) -> Result<(f64, usize), FilterError> {
    let bytes = src.as_bytes();
    let mut i = start;
    if bytes[i] == b'-' {
        i += 1;
    }
    let digits_start = i;
    let mut dot = false;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        if bytes[i] == b'.' {
            if dot {
                return Err(FilterError::at(i, "invalid number: more than one '.'"));
            }
            dot = true;
        }
        i += 1;
    }
    let body = &src[digits_start..i];
    if body.is_empty() || body.starts_with('.') || body.ends_with('.') {
        return Err(FilterError::at(start, "invalid number"));
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        return Err(FilterError::at(i, "invalid number"));
    }
    let n = src[start..i]
        .parse::<f64>()
        .map_err(|_| FilterError::at(start, "invalid number"))?;
    Ok((n, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn signs() {
        let all = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"];
        for s in all {
            assert!(
                matches!(kinds(s)[0], TokenKind::Sign(Sign { any: false, .. })),
                "{s}"
            );
            let q = format!("?{s}");
            assert!(
                matches!(kinds(&q)[0], TokenKind::Sign(Sign { any: true, .. })),
                "{q}"
            );
        }
        assert_eq!(
            kinds(">=")[0],
            TokenKind::Sign(Sign {
                op: Op::Gte,
                any: false
            })
        );
        assert_eq!(
            kinds("?!~")[0],
            TokenKind::Sign(Sign {
                op: Op::NotLike,
                any: true
            })
        );
    }

    #[test]
    fn texts_and_escapes_as_pocketbase_reads_them() {
        // (filter text, value) pairs, each checked against PocketBase 0.40.6.
        let cases = [
            (r#"'it\'s'"#, "it's"),
            (r#""say \"hi\"""#, "say \"hi\""),
            (r#"'a\"b'"#, "a\"b"),
            (r#""a\'b""#, "a'b"),
            (r#"'back\slash'"#, "back\\slash"),
            (r#""back\\slash""#, "back\\slash"),
            (r#""ends\\""#, "ends\\"),
            (r#""x\\\\y""#, "x\\\\y"),
            (r#""multi\nline""#, "multi\nline"),
            (r#"'t\tb'"#, "t\tb"),
            (r#""c\rr""#, "c\rr"),
            (r#""\u00fc""#, "\\u00fc"),
            (r#""a\/b""#, "a\\/b"),
            (r#""b\bx""#, "b\\bx"),
            (r#""z\0""#, "z\\0"),
            ("'é ✓'", "é ✓"),
        ];
        for (src, value) in cases {
            assert_eq!(kinds(src), vec![TokenKind::Text(value.into())], "{src}");
        }
        assert!(tokenize("'open").is_err());
        assert!(
            tokenize(r#"'ends\'"#).is_err(),
            "an escaped quote does not close"
        );
        assert!(
            tokenize(r#"'a\\'b'"#).is_err(),
            "text after the closing quote"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(kinds("12"), vec![TokenKind::Number(12.0)]);
        assert_eq!(kinds("-1.5"), vec![TokenKind::Number(-1.5)]);
        for bad in ["1e3", "1.", ".5", "1.2.3", "-", "12abc"] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_and_comments() {
        assert_eq!(
            kinds("@request.auth.id // who\n&& a.b:lower"),
            vec![
                TokenKind::Ident("@request.auth.id".into()),
                TokenKind::And,
                TokenKind::Ident("a.b:lower".into())
            ]
        );
        for bad in ["a.", "a:", "@", "_", "#", "a & b", "a | b", "$x", "a ! b"] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_positions() {
        let e = tokenize("title = 'x' && $").unwrap_err();
        assert_eq!(e.position, Some(15));
    }
}
