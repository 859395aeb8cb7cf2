//! The XLSForm expressions Doorstep reads in `relevant` and `constraint`
//! cells: a small part of XPath, parsed into an [`Expr`] that
//! [`super::relevant`] and [`super::types`] then map onto the template's
//! conditions and limits, or refuse.
//!
//! Grammar (operators bind as in XPath: `or` looser than `and`, both looser
//! than comparisons):
//!
//! ```text
//! expr       := and ("or" and)*
//! and        := comparison ("and" comparison)*
//! comparison := operand (("=" | "!=" | "<" | "<=" | ">" | ">=") operand)?
//! operand    := "${" name "}" | "." | 'text' | "text" | number
//!             | name "(" (expr ("," expr)*)? ")" | "(" expr ")"
//! ```
//!
//! Anything else (arithmetic, paths, `div`, `mod`, unknown tokens) is a
//! syntax error naming the position. The text is at most
//! [`MAX_EXPRESSION_CHARS`] characters and nests at most [`MAX_DEPTH`] deep,
//! so a hostile cell cannot exhaust the stack.

/// The longest expression read, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 1_000;

/// How deep parentheses and calls may nest.
pub const MAX_DEPTH: usize = 32;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Compare {
    /// The same test with its two sides swapped (`a < b` is `b > a`).
    pub fn swapped(self) -> Compare {
        match self {
            Compare::Equal | Compare::NotEqual => self,
            Compare::Less => Compare::Greater,
            Compare::LessOrEqual => Compare::GreaterOrEqual,
            Compare::Greater => Compare::Less,
            Compare::GreaterOrEqual => Compare::LessOrEqual,
        }
    }

    /// How the operator is written.
    pub fn symbol(self) -> &'static str {
        match self {
            Compare::Equal => "=",
            Compare::NotEqual => "!=",
            Compare::Less => "<",
            Compare::LessOrEqual => "<=",
            Compare::Greater => ">",
            Compare::GreaterOrEqual => ">=",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `${name}`: the answer to another question.
    Field(String),
    /// `.`: the answer to this question (in a constraint).
    Current,
    /// A quoted text.
    Text(String),
    /// A number as written, e.g. `60` or `-1.5`.
    Number(String),
    /// A function call, e.g. `selected(${a}, 'x')`, `not(...)`.
    Call {
        /// The function's name, e.g. `selected`.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `left op right`.
    Comparison {
        /// The left side.
        left: Box<Expr>,
        /// The operator.
        op: Compare,
        /// The right side.
        right: Box<Expr>,
    },
    /// `a and b and ...` (two or more).
    And(Vec<Expr>),
    /// `a or b or ...` (two or more).
    Or(Vec<Expr>),
}

/// Why an expression could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// Longer than [`MAX_EXPRESSION_CHARS`].
    #[error("the expression is longer than {MAX_EXPRESSION_CHARS} characters")]
    TooLong,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("the expression nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Something unexpected at a character position (1-based).
    #[error("unexpected {found} at character {at}")]
    Unexpected {
        /// 1-based character position.
        at: usize,
        /// What was found, e.g. `end of text`, `'+'`.
        found: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Field(String),
    Dot,
    Text(String),
    Number(String),
    Name(String),
    Open,
    Close,
    Comma,
    Op(Compare),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Field(name) => format!("${{{name}}}"),
            Token::Dot => "'.'".into(),
            Token::Text(_) => "a text".into(),
            Token::Number(n) => n.clone(),
            Token::Name(n) => format!("'{n}'"),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::Comma => "','".into(),
            Token::Op(op) => format!("'{}'", op.symbol()),
        }
    }
}

/// Parses an expression cell.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    if text.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(SyntaxError::TooLong);
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: text.chars().count() + 1,
    };
    let expr = parser.or(0)?;
    match parser.tokens.get(parser.next) {
        None => Ok(expr),
        Some((at, token)) => Err(SyntaxError::Unexpected {
            at: *at,
            found: token.describe(),
        }),
    }
}

fn unexpected(at: usize, c: char) -> SyntaxError {
    SyntaxError::Unexpected {
        at,
        found: format!("{:?}", c),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = i + 1;
        let take_while = |from: usize, keep: &dyn Fn(char) -> bool| {
            let mut end = from;
            while chars.get(end).is_some_and(|c| keep(*c)) {
                end += 1;
            }
            end
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '$' => {
                if chars.get(i + 1) != Some(&'{') {
                    return Err(unexpected(at, c));
                }
                let end = take_while(i + 2, &|c| c != '}');
                if end >= chars.len() {
                    return Err(SyntaxError::Unexpected {
                        at,
                        found: "'${' without '}'".into(),
                    });
                }
                let name: String = chars[i + 2..end].iter().collect();
                tokens.push((at, Token::Field(name.trim().to_owned())));
                i = end + 1;
            }
            '\'' | '"' => {
                let end = take_while(i + 1, &|other| other != c);
                if end >= chars.len() {
                    return Err(SyntaxError::Unexpected {
                        at,
                        found: "a quote that is not closed".into(),
                    });
                }
                tokens.push((at, Token::Text(chars[i + 1..end].iter().collect())));
                i = end + 1;
            }
            '0'..='9' | '-' => {
                let digits = take_while(i + 1, &|c| c.is_ascii_digit());
                let end = if chars.get(digits) == Some(&'.')
                    && chars.get(digits + 1).is_some_and(char::is_ascii_digit)
                {
                    take_while(digits + 1, &|c| c.is_ascii_digit())
                } else {
                    digits
                };
                let number: String = chars[i..end].iter().collect();
                if number == "-" {
                    return Err(unexpected(at, c));
                }
                tokens.push((at, Token::Number(number)));
                i = end;
            }
            '.' => {
                tokens.push((at, Token::Dot));
                i += 1;
            }
            '(' | ')' | ',' => {
                let token = match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                };
                tokens.push((at, token));
                i += 1;
            }
            '=' => {
                tokens.push((at, Token::Op(Compare::Equal)));
                i += 1;
            }
            '!' | '<' | '>' => {
                let equals = chars.get(i + 1) == Some(&'=');
                let op = match (c, equals) {
                    ('!', true) => Compare::NotEqual,
                    ('!', false) => return Err(unexpected(at, c)),
                    ('<', true) => Compare::LessOrEqual,
                    ('<', false) => Compare::Less,
                    ('>', true) => Compare::GreaterOrEqual,
                    _ => Compare::Greater,
                };
                tokens.push((at, Token::Op(op)));
                i += if equals { 2 } else { 1 };
            }
            c if c.is_ascii_alphabetic() => {
                let end = take_while(i, &|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                tokens.push((at, Token::Name(chars[i..end].iter().collect())));
                i = end;
            }
            _ => return Err(unexpected(at, c)),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    /// The position reported for "end of text".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, token)| token)
    }

    fn error_here(&self) -> SyntaxError {
        match self.tokens.get(self.next) {
            Some((at, token)) => SyntaxError::Unexpected {
                at: *at,
                found: token.describe(),
            },
            None => SyntaxError::Unexpected {
                at: self.end,
                found: "end of text".into(),
            },
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Name(name)) if name == word)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError::TooDeep);
        }
        let mut parts = vec![self.and(depth)?];
        while self.is_word("or") {
            self.next += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let mut parts = vec![self.comparison(depth)?];
        while self.is_word("and") {
            self.next += 1;
            parts.push(self.comparison(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn comparison(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let left = self.operand(depth)?;
        if let Some(Token::Op(op)) = self.peek() {
            let op = *op;
            self.next += 1;
            let right = self.operand(depth)?;
            return Ok(Expr::Comparison {
                left: Box::new(left),
                op,
                right: Box::new(right),
            });
        }
        Ok(left)
    }

    fn operand(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_here());
        };
        let expr = match token {
            Token::Field(name) => Expr::Field(name),
            Token::Dot => Expr::Current,
            Token::Text(text) => Expr::Text(text),
            Token::Number(number) => Expr::Number(number),
            Token::Open => {
                self.next += 1;
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here());
                }
                self.next += 1;
                return Ok(inner);
            }
            Token::Name(name) if !matches!(name.as_str(), "and" | "or") => {
                self.next += 1;
                if self.peek() != Some(&Token::Open) {
                    self.next -= 1;
                    return Err(self.error_here());
                }
                self.next += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Token::Close) {
                    args.push(self.or(depth + 1)?);
                    while self.peek() == Some(&Token::Comma) {
                        self.next += 1;
                        args.push(self.or(depth + 1)?);
                    }
                }
                if self.peek() != Some(&Token::Close) {
                    return Err(self.error_here());
                }
                self.next += 1;
                return Ok(Expr::Call { name, args });
            }
            _ => return Err(self.error_here()),
        };
        self.next += 1;
        Ok(expr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(name: &str) -> Box<Expr> {
        Box::new(Expr::Field(name.into()))
    }

    #[test]
    fn reads_the_forms_a_checklist_uses() {
        assert_eq!(
            parse("${overdue_reason} = 'other'").unwrap(),
            Expr::Comparison {
                left: field("overdue_reason"),
                op: Compare::Equal,
                right: Box::new(Expr::Text("other".into())),
            }
        );
        assert_eq!(
            parse("selected( ${a} , \"x\")").unwrap(),
            Expr::Call {
                name: "selected".into(),
                args: vec![Expr::Field("a".into()), Expr::Text("x".into())],
            }
        );
        let range = parse(". >= 0 and . <= 60").unwrap();
        let Expr::And(parts) = range else {
            panic!("{range:?}")
        };
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[1],
            Expr::Comparison {
                left: Box::new(Expr::Current),
                op: Compare::LessOrEqual,
                right: Box::new(Expr::Number("60".into())),
            }
        );
    }

    #[test]
    fn or_binds_looser_than_and() {
        let Expr::Or(parts) = parse("${a} = 'x' or ${b} = 'y' and ${c} != ''").unwrap() else {
            panic!()
        };
        assert_eq!(parts.len(), 2);
        assert!(matches!(&parts[1], Expr::And(inner) if inner.len() == 2));
        let Expr::And(parts) = parse("(${a} = 'x' or ${a} = 'y') and not(${b} = 'z')").unwrap()
        else {
            panic!()
        };
        assert!(matches!(&parts[0], Expr::Or(_)));
        assert!(matches!(&parts[1], Expr::Call { name, .. } if name == "not"));
    }

    #[test]
    fn refuses_what_it_cannot_read_with_the_position() {
        let cases = [
            ("${a} + 1", 6),
            ("${a} =", 7),
            ("${a", 1),
            ("'open", 1),
            ("(${a} = 'x'", 12),
            ("${a} = 'x')", 11),
            ("foo", 1),
            ("${a} ! 'x'", 6),
        ];
        for (text, at) in cases {
            match parse(text) {
                Err(SyntaxError::Unexpected { at: found, .. }) => {
                    assert_eq!(found, at, "{text}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(parse(&"(".repeat(40)).unwrap_err(), SyntaxError::TooDeep);
        assert_eq!(parse(&"1".repeat(1001)).unwrap_err(), SyntaxError::TooLong);
    }
}
