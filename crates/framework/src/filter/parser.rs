//! Recursive-descent parser: tokens → [`Expr`] tree, with `&&` binding tighter than `||`.

use super::lexer::{tokenize_with, Params, Sign, Token, TokenKind};
use super::FilterError;

/// Longest filter accepted, in bytes (PocketBase's limit).
pub const MAX_FILTER_LEN: usize = 3500;
/// Most comparisons in one filter.
pub const MAX_EXPRESSIONS: usize = 200;
const MAX_FUNC_DEPTH: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(Box<Comparison>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub left: Operand,
    pub sign: Sign,
    pub right: Operand,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Ident(String),
    Text(String),
    Number(f64),
    Func { name: String, args: Vec<Operand> },
}

pub fn parse(src: &str) -> Result<Expr, FilterError> {
    parse_with(src, &Params::new())
}

/// [`parse`] with values bound to `{:name}` placeholders.
pub fn parse_with(src: &str, params: &Params) -> Result<Expr, FilterError> {
    if src.len() > MAX_FILTER_LEN {
        return Err(FilterError::at(
            MAX_FILTER_LEN,
            format!("filter longer than {MAX_FILTER_LEN} characters"),
        ));
    }
    let tokens = tokenize_with(src, params)?;
    if tokens.is_empty() {
        return Err(FilterError::at(0, "empty filter expression"));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        count: 0,
        len: src.len(),
    };
    let expr = p.or_expr()?;
    if let Some(t) = p.peek() {
        return Err(FilterError::at(
            t.start,
            "unexpected token after the end of the expression",
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    count: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| FilterError::at(self.len, "unexpected end of expression"))?;
        self.pos += 1;
        Ok(t)
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.and_expr()?];
        while matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Or)) {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.primary()?];
        while matches!(self.peek().map(|t| &t.kind), Some(TokenKind::And)) {
            self.pos += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let t = self.next()?;
        if t.kind == TokenKind::LParen {
            let inner = self.or_expr()?;
            let close = self.next()?;
            if close.kind != TokenKind::RParen {
                return Err(FilterError::at(close.start, "expected ')'"));
            }
            return Ok(inner);
        }
        self.pos -= 1;
        let left = self.operand(0)?;
        let sign_tok = self.next()?;
        let TokenKind::Sign(sign) = sign_tok.kind else {
            return Err(FilterError::at(
                sign_tok.start,
                "expected a comparison operator",
            ));
        };
        let right = self.operand(0)?;
        self.count += 1;
        if self.count > MAX_EXPRESSIONS {
            return Err(FilterError::at(
                sign_tok.start,
                format!("more than {MAX_EXPRESSIONS} expressions"),
            ));
        }
        Ok(Expr::Cmp(Box::new(Comparison { left, sign, right })))
    }

    fn operand(&mut self, depth: usize) -> Result<Operand, FilterError> {
        let t = self.next()?;
        match t.kind {
            TokenKind::Text(s) => Ok(Operand::Text(s)),
            TokenKind::Number(n) => Ok(Operand::Number(n)),
            TokenKind::Ident(name) => {
                let call = matches!(self.peek(), Some(p) if p.kind == TokenKind::LParen && p.start == t.end);
                if !call {
                    return Ok(Operand::Ident(name));
                }
                if depth >= MAX_FUNC_DEPTH {
                    return Err(FilterError::at(t.start, "functions nested too deeply"));
                }
                self.pos += 1;
                let mut args = Vec::new();
                loop {
                    if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::RParen)) {
                        self.pos += 1;
                        break;
                    }
                    args.push(self.operand(depth + 1)?);
                    let sep = self.next()?;
                    match sep.kind {
                        TokenKind::Comma => continue,
                        TokenKind::RParen => break,
                        _ => {
                            return Err(FilterError::at(
                                sep.start,
                                "expected ',' or ')' in function arguments",
                            ))
                        }
                    }
                }
                Ok(Operand::Func { name, args })
            }
            _ => Err(FilterError::at(
                t.start,
                "expected an identifier, text, number or function",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::Op;
    use super::*;

    fn cmp(l: Operand, op: Op, any: bool, r: Operand) -> Expr {
        Expr::Cmp(Box::new(Comparison {
            left: l,
            sign: Sign { op, any },
            right: r,
        }))
    }
    fn id(s: &str) -> Operand {
        Operand::Ident(s.into())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("a = 1 || b = 2 && c = 3").unwrap();
        let Expr::Or(parts) = e else { panic!("not or") };
        assert_eq!(parts.len(), 2);
        assert!(matches!(parts[1], Expr::And(_)));
        let e = parse("(a = 1 || b = 2) && c = 3").unwrap();
        let Expr::And(parts) = e else {
            panic!("not and")
        };
        assert!(matches!(parts[0], Expr::Or(_)));
    }

    #[test]
    fn literals_on_either_side() {
        assert_eq!(
            parse("'x' = title").unwrap(),
            cmp(Operand::Text("x".into()), Op::Eq, false, id("title"))
        );
        assert_eq!(
            parse("views ?>= -2.5").unwrap(),
            cmp(id("views"), Op::Gte, true, Operand::Number(-2.5))
        );
    }

    #[test]
    fn functions() {
        let e = parse("geoDistance(loc.lon, loc.lat, 23.3, 42.7,) < 10").unwrap();
        let Expr::Cmp(c) = e else { panic!() };
        let Operand::Func { name, args } = &c.left else {
            panic!()
        };
        assert_eq!(name, "geoDistance");
        assert_eq!(args.len(), 4);
        assert!(parse("f(g(h(i(1)))) = 1").is_err());
        assert!(parse("f(g(h(1))) = 1").is_ok());
        // a space between name and '(' is not a call
        assert!(parse("f (1) = 1").is_err());
    }

    #[test]
    fn bad_syntax_with_positions() {
        for (src, pos) in [
            ("a =", 3),
            ("a = 1 &&", 8),
            ("(a = 1", 6),
            ("a = 1)", 5),
            ("= 1", 0),
            ("a b", 2),
            ("a = 1 b = 2", 6),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.position, Some(pos), "{src}: {e}");
        }
        assert!(parse("// only comment").is_err());
        assert!(parse("").is_err());
        assert!(parse(&"a".repeat(3501)).is_err());
    }

    #[test]
    fn expression_limit() {
        let many = vec!["a = 1"; 201].join(" && ");
        assert!(parse(&many).is_err());
        let ok = vec!["a = 1"; 200].join(" || ");
        assert!(parse(&ok).is_ok());
    }
}
