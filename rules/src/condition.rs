//! Falco's condition language: the grammar of libsinsp's filter parser
//! (falcosecurity/libs `userspace/libsinsp/filter/parser.h`), reproduced token
//! for token so that a condition Falco accepts is accepted here and one it
//! rejects is rejected, with the same message. The whole input must be
//! consumed; recursion is limited to 100 levels, as in libsinsp.
//!
//! ```text
//! Expr       ::= OrExpr
//! OrExpr     ::= AndExpr ('or' (' ' AndExpr | '(' Expr ')'))*
//! AndExpr    ::= NotExpr ('and' (' ' NotExpr | '(' Expr ')'))*
//! NotExpr    ::= ('not ')* ('not(' Expr ')' | Check)
//! Check      ::= Field Condition | Transformer Condition | Identifier | '(' Expr ')'
//! Condition  ::= 'exists' | NumOp NumValue | StrOp [Modifier] StrValue | ListOp ListValue
//! ```
//!
//! Values and lists are kept as written (quotes removed, escapes resolved); what a field or
//! macro means is decided later, by the rule set (`ruleset`) and the field table (`fields`).

/// A position in the condition text: byte index, line and column (1-based;
/// `\r` and `\n` start a new line, as in libsinsp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub idx: usize,
    pub line: u32,
    pub col: u32,
}

impl Default for Pos {
    fn default() -> Pos {
        Pos {
            idx: 0,
            line: 1,
            col: 1,
        }
    }
}

/// A syntax error: what was expected, and where the parser was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub pos: Pos,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (condition line {}, column {})",
            self.message, self.pos.line, self.pos.col
        )
    }
}

/// Comparison operators (`==` is `=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    Regex,
    In,
    Intersects,
    Pmatch,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Pmatch => "pmatch",
        }
    }
}

/// `oneof`, `anyof`, `allof` after a string operator: the operator is applied
/// to each element of the list, and exactly one, at least one, or every
/// comparison must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    OneOf,
    AnyOf,
    AllOf,
}

/// The field transformers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transformer {
    ToLower,
    ToUpper,
    B64,
    Basename,
    Len,
    Join,
    Concat,
    Getopt,
    /// `val(field)[arg]`: parses, never compiles.
    Val,
}

impl Transformer {
    pub fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
            Transformer::Join => "join",
            Transformer::Concat => "concat",
            Transformer::Getopt => "getopt",
            Transformer::Val => "val",
        }
    }
}

/// What a comparison reads: a field (`proc.aname[2]`), a transformer over
/// fields and literals, or (right-hand side only) `val(field)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Field {
        name: String,
        arg: Option<String>,
        pos: Pos,
    },
    Transform {
        func: Transformer,
        args: Vec<TArg>,
        arg: Option<String>,
        pos: Pos,
    },
    Val {
        field: Box<Operand>,
        pos: Pos,
    },
}

impl Operand {
    pub fn pos(&self) -> Pos {
        match self {
            Operand::Field { pos, .. }
            | Operand::Transform { pos, .. }
            | Operand::Val { pos, .. } => *pos,
        }
    }
}

/// A transformer argument.
#[derive(Clone, Debug, PartialEq)]
pub enum TArg {
    Operand(Operand),
    Str(String),
    Num(String),
    List(Vec<TArg>),
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Rhs {
    /// A string or number as written.
    Value(String),
    /// `(a, b, c)`
    List(Vec<String>),
    /// A list (or macro) named by an identifier: `in (shell_binaries)` is a
    /// `List`; `in shell_binaries` is this.
    Name(String),
    /// A transformer or `val(field)`.
    Operand(Operand),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A macro named by an identifier.
    Ident {
        name: String,
        pos: Pos,
    },
    Exists {
        left: Operand,
        pos: Pos,
    },
    Cmp {
        left: Operand,
        op: Op,
        modifier: Option<Modifier>,
        right: Rhs,
        pos: Pos,
    },
}

/// libsinsp's default recursion limit.
pub const MAX_DEPTH: u32 = 100;
/// The limit Falco's rule loader sets for rule and macro conditions.
pub const RULES_MAX_DEPTH: u32 = 1000;

/// Parse a whole condition (recursion limited as libsinsp's parser is by
/// default).
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with_depth(input, MAX_DEPTH)
}

/// Parse a whole condition with another recursion limit.
pub fn parse_with_depth(input: &str, max_depth: u32) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s: input.as_bytes(),
        pos: Pos::default(),
        depth: 0,
        max_depth,
        last: String::new(),
    };
    if input.is_empty() {
        return Err(p.err("filter input string is empty"));
    }
    let e = p.parse_or()?;
    if p.pos.idx != p.s.len() {
        let m = format!("unexpected token after '{}', expecting 'or', 'and'", p.last);
        return Err(p.err(m));
    }
    Ok(e)
}

type R<T> = Result<T, ParseError>;

struct Parser<'a> {
    s: &'a [u8],
    pos: Pos,
    depth: u32,
    max_depth: u32,
    /// The last token read (what libsinsp names in "unexpected token after").
    last: String,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | 0x08 | b'\r' | b'\n')
}

/// POSIX `[:space:]`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

const TRANSFORMERS: [(&str, Transformer); 8] = [
    ("tolower(", Transformer::ToLower),
    ("toupper(", Transformer::ToUpper),
    ("b64(", Transformer::B64),
    ("basename(", Transformer::Basename),
    ("len(", Transformer::Len),
    ("join(", Transformer::Join),
    ("concat(", Transformer::Concat),
    ("getopt(", Transformer::Getopt),
];

const OPERATORS: &str = "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', \
'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', \
'intersects', 'in', 'pmatch'";

const TRANSFORMER_NAMES: &str =
    "'val', 'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'";

impl<'a> Parser<'a> {
    fn err(&self, m: impl Into<String>) -> ParseError {
        ParseError {
            message: m.into(),
            pos: self.pos,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(self.pos.idx + i).copied().unwrap_or(0)
    }

    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos.idx.min(self.s.len())..]
    }

    fn advance(&mut self, n: usize) {
        for _ in 0..n {
            let c = self.at(0);
            self.pos.col += 1;
            if c == b'\r' || c == b'\n' {
                self.pos.col = 1;
                self.pos.line += 1;
            }
            self.pos.idx += 1;
        }
    }

    /// Consume `n` bytes as the last token.
    fn take(&mut self, n: usize) -> bool {
        self.last = String::from_utf8_lossy(&self.rest()[..n]).into_owned();
        self.advance(n);
        true
    }

    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.depth += 1;
        if self.depth >= self.max_depth {
            let m = format!("exceeded max depth limit of {}", self.max_depth);
            return Err(self.err(m));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn lex_blank(&mut self) -> bool {
        let mut found = false;
        while is_blank(self.at(0)) {
            found = true;
            self.advance(1);
        }
        found
    }

    fn lex_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.take(s.len())
        } else {
            false
        }
    }

    /// `[a-zA-Z]+[a-zA-Z0-9_]*` at byte `i` of the rest: its length.
    fn ident_len(&self, i: usize) -> usize {
        let r = self.rest();
        if !r.get(i).is_some_and(u8::is_ascii_alphabetic) {
            return 0;
        }
        let mut n = 1;
        while r
            .get(i + n)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            n += 1;
        }
        n
    }

    fn lex_identifier(&mut self) -> bool {
        let n = self.ident_len(0);
        n > 0 && self.take(n)
    }

    /// `ident(\.ident)+`
    fn lex_field_name(&mut self) -> bool {
        let mut n = self.ident_len(0);
        if n == 0 {
            return false;
        }
        let mut parts = 0;
        while self.rest().get(n) == Some(&b'.') {
            let m = self.ident_len(n + 1);
            if m == 0 {
                break;
            }
            n += 1 + m;
            parts += 1;
        }
        parts > 0 && self.take(n)
    }

    fn lex_span(&mut self, ok: impl Fn(u8) -> bool) -> bool {
        let n = self.rest().iter().take_while(|c| ok(**c)).count();
        n > 0 && self.take(n)
    }

    fn lex_field_arg_bare_str(&mut self) -> bool {
        self.lex_span(|c| !matches!(c, b'[' | b']' | b'"' | b'\'') && !is_space(c) && c != 0)
    }

    fn lex_bare_str(&mut self) -> bool {
        self.lex_span(|c| {
            !matches!(c, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(c) && c != 0
        })
    }

    fn lex_hex_num(&mut self) -> bool {
        let r = self.rest();
        if r.len() > 2 && r[0] == b'0' && (r[1] == b'x' || r[1] == b'X') {
            let n = r[2..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if n > 0 {
                return self.take(2 + n);
            }
        }
        false
    }

    /// `[+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?`
    fn lex_num(&mut self) -> bool {
        let r = self.rest();
        let mut i = 0;
        if matches!(r.first(), Some(b'+' | b'-')) {
            i += 1;
        }
        let d = r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d == 0 {
            return false;
        }
        i += d;
        if r.get(i) == Some(&b'.') {
            i += 1;
        }
        i += r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if matches!(r.get(i), Some(b'e' | b'E')) && matches!(r.get(i + 1), Some(b'+' | b'-')) {
            let e = r[i + 2..].iter().take_while(|c| c.is_ascii_digit()).count();
            if e > 0 {
                i += 2 + e;
            }
        }
        self.take(i)
    }

    /// A quoted string, as libsinsp scans it (a delimiter preceded by a
    /// backslash does not close), then unescaped.
    fn lex_quoted_str(&mut self) -> R<bool> {
        let r = self.rest();
        let delim = match r.first() {
            Some(c @ (b'"' | b'\'')) => *c,
            _ => return Ok(false),
        };
        let mut prev = b'\\';
        for (i, &c) in r.iter().enumerate() {
            if c == 0 {
                break;
            }
            if c == delim && prev != b'\\' {
                let raw = &r[..=i];
                let v = unescape(raw).map_err(|m| self.err(m))?;
                self.advance(i + 1);
                self.last = v;
                return Ok(true);
            }
            prev = c;
        }
        Ok(false)
    }

    fn parse_or(&mut self) -> R<Expr> {
        self.guarded(|p| {
            let mut children = Vec::new();
            p.lex_blank();
            children.push(p.parse_and()?);
            p.lex_blank();
            while p.lex_str("or") {
                let child = if !p.lex_blank() {
                    if p.lex_str("(") {
                        p.parse_embedded_remainder()?
                    } else {
                        return Err(p.err("expected blank or '(' after 'or'"));
                    }
                } else {
                    p.parse_and()?
                };
                children.push(child);
                p.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::Or(children)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    fn parse_and(&mut self) -> R<Expr> {
        self.guarded(|p| {
            let mut children = Vec::new();
            p.lex_blank();
            children.push(p.parse_not()?);
            p.lex_blank();
            while p.lex_str("and") {
                let child = if !p.lex_blank() {
                    if p.lex_str("(") {
                        p.parse_embedded_remainder()?
                    } else {
                        return Err(p.err("expected blank or '(' after 'and'"));
                    }
                } else {
                    p.parse_not()?
                };
                children.push(child);
                p.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::And(children)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    /// `not[[:space:]]+`
    fn lex_not_blank(&mut self) -> bool {
        let r = self.rest();
        if r.starts_with(b"not") {
            let n = r[3..].iter().take_while(|c| is_space(**c)).count();
            if n > 0 {
                return self.take(3 + n);
            }
        }
        false
    }

    fn parse_not(&mut self) -> R<Expr> {
        self.guarded(|p| {
            let mut is_not = false;
            p.lex_blank();
            while p.lex_not_blank() {
                is_not = !is_not;
            }
            let child = if p.lex_str("not(") {
                is_not = !is_not;
                p.parse_embedded_remainder()?
            } else {
                p.parse_check()?
            };
            Ok(if is_not {
                Expr::Not(Box::new(child))
            } else {
                child
            })
        })
    }

    fn parse_embedded_remainder(&mut self) -> R<Expr> {
        self.guarded(|p| {
            p.lex_blank();
            let child = p.parse_or()?;
            p.lex_blank();
            if !p.lex_str(")") {
                return Err(p.err("expected a ')' token"));
            }
            Ok(child)
        })
    }

    fn lex_transformer_type(&mut self) -> Option<Transformer> {
        for (s, t) in TRANSFORMERS {
            if self.lex_str(s) {
                return Some(t);
            }
        }
        None
    }

    fn parse_check(&mut self) -> R<Expr> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if p.lex_str("(") {
                return p.parse_embedded_remainder();
            }
            if p.lex_field_name() {
                let name = p.last.clone();
                let left = p.parse_field_remainder(name, pos)?;
                return p.parse_condition(left, pos);
            }
            if let Some(t) = p.lex_transformer_type() {
                p.lex_blank();
                let left = p.parse_transformer_remainder(t, pos)?;
                return p.parse_condition(left, pos);
            }
            if p.lex_identifier() {
                return Ok(Expr::Ident {
                    name: p.last.clone(),
                    pos,
                });
            }
            Err(p.err("expected a '(' token, a field check, or an identifier"))
        })
    }

    fn parse_field_arg(&mut self) -> R<Option<String>> {
        if !self.lex_str("[") {
            return Ok(None);
        }
        if !self.lex_quoted_str()? && !self.lex_field_arg_bare_str() {
            return Err(
                self.err("expected a valid field argument: a quoted string or a bare string")
            );
        }
        let arg = self.last.clone();
        if !self.lex_str("]") {
            return Err(self.err("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    fn parse_field_remainder(&mut self, name: String, pos: Pos) -> R<Operand> {
        self.guarded(|p| {
            let arg = p.parse_field_arg()?;
            Ok(Operand::Field { name, arg, pos })
        })
    }

    /// After `name(`: the arguments, `)`, and an optional `[arg]`.
    fn parse_transformer_remainder(&mut self, func: Transformer, pos: Pos) -> R<Operand> {
        self.guarded(|p| {
            let mut args = Vec::new();
            loop {
                p.lex_blank();
                args.push(p.parse_transformer_arg()?);
                p.lex_blank();
                if !p.lex_str(",") {
                    break;
                }
            }
            p.lex_blank();
            if !p.lex_str(")") {
                return Err(p.err("expected a ')' token closing the transformer"));
            }
            let arg = p.parse_field_arg()?;
            Ok(Operand::Transform {
                func,
                args,
                arg,
                pos,
            })
        })
    }

    fn parse_transformer_arg(&mut self) -> R<TArg> {
        let pos = self.pos;
        if let Some(t) = self.lex_transformer_type() {
            self.lex_blank();
            return Ok(TArg::Operand(self.parse_transformer_remainder(t, pos)?));
        }
        if self.lex_field_name() {
            let name = self.last.clone();
            return Ok(TArg::Operand(self.parse_field_remainder(name, pos)?));
        }
        if self.lex_quoted_str()? {
            return Ok(TArg::Str(self.last.clone()));
        }
        if self.lex_hex_num() || self.lex_num() {
            return Ok(TArg::Num(self.last.clone()));
        }
        if self.lex_str("(") {
            let mut items = Vec::new();
            self.lex_blank();
            if !self.lex_str(")") {
                loop {
                    self.lex_blank();
                    items.push(self.parse_transformer_list_arg()?);
                    self.lex_blank();
                    if !self.lex_str(",") {
                        break;
                    }
                }
                if !self.lex_str(")") {
                    return Err(self.err("expected a ')' token closing the transformer list"));
                }
            }
            return Ok(TArg::List(items));
        }
        Err(self.err(
            "expected field transformer argument: field, transformer, quoted string, number, \
             or transformer list",
        ))
    }

    fn parse_transformer_list_arg(&mut self) -> R<TArg> {
        let pos = self.pos;
        if let Some(t) = self.lex_transformer_type() {
            self.lex_blank();
            return Ok(TArg::Operand(self.parse_transformer_remainder(t, pos)?));
        }
        if self.lex_field_name() {
            let name = self.last.clone();
            return Ok(TArg::Operand(self.parse_field_remainder(name, pos)?));
        }
        if self.lex_quoted_str()? {
            return Ok(TArg::Str(self.last.clone()));
        }
        if self.lex_hex_num() || self.lex_num() {
            return Ok(TArg::Num(self.last.clone()));
        }
        Err(self.err(
            "expected transformer list argument: field, transformer, quoted string, or number",
        ))
    }

    fn lex_num_op(&mut self) -> Option<Op> {
        for (s, op) in [("<=", Op::Le), ("<", Op::Lt), (">=", Op::Ge), (">", Op::Gt)] {
            if self.lex_str(s) {
                return Some(op);
            }
        }
        None
    }

    /// `==`, `=`, `!=`, or a word operator followed by a blank.
    fn lex_str_op(&mut self) -> Option<Op> {
        for (s, op) in [("==", Op::Eq), ("=", Op::Eq), ("!=", Op::Ne)] {
            if self.lex_str(s) {
                return Some(op);
            }
        }
        for (s, op) in [
            ("glob", Op::Glob),
            ("iglob", Op::IGlob),
            ("contains", Op::Contains),
            ("icontains", Op::IContains),
            ("bcontains", Op::BContains),
            ("startswith", Op::StartsWith),
            ("bstartswith", Op::BStartsWith),
            ("endswith", Op::EndsWith),
            ("regex", Op::Regex),
        ] {
            if self.rest().starts_with(s.as_bytes()) && is_blank(self.at(s.len())) {
                self.take(s.len());
                return Some(op);
            }
        }
        None
    }

    fn lex_list_op(&mut self) -> Option<Op> {
        for (s, op) in [
            ("intersects", Op::Intersects),
            ("in", Op::In),
            ("pmatch", Op::Pmatch),
        ] {
            if self.lex_str(s) {
                return Some(op);
            }
        }
        None
    }

    fn parse_condition(&mut self, left: Operand, pos: Pos) -> R<Expr> {
        self.guarded(|p| {
            p.lex_blank();
            if p.lex_str("exists") {
                return Ok(Expr::Exists { left, pos });
            }
            p.lex_blank();
            let (op, modifier, right) = if let Some(op) = p.lex_num_op() {
                (op, None, p.parse_num_value_or_transformer()?)
            } else if let Some(op) = p.lex_str_op() {
                match p.try_modifier()? {
                    Some((m, right)) => (op, Some(m), right),
                    None => (op, None, p.parse_str_value_or_transformer(false)?),
                }
            } else if let Some(op) = p.lex_list_op() {
                (op, None, p.parse_list_value_or_transformer()?)
            } else {
                return Err(p.err(format!(
                    "expected a valid check operator: one of {OPERATORS}"
                )));
            };
            Ok(Expr::Cmp {
                left,
                op,
                modifier,
                right,
                pos,
            })
        })
    }

    /// After a string operator: blank, `oneof|anyof|allof`, blank, then a
    /// list or a list's name. Anything else leaves the cursor where it was
    /// (the word is then a plain value).
    fn try_modifier(&mut self) -> R<Option<(Modifier, Rhs)>> {
        let save = (self.pos, self.last.clone());
        if !self.lex_blank() {
            return Ok(None);
        }
        let m = [
            ("oneof", Modifier::OneOf),
            ("anyof", Modifier::AnyOf),
            ("allof", Modifier::AllOf),
        ]
        .into_iter()
        .find(|(s, _)| self.rest().starts_with(s.as_bytes()) && is_blank(self.at(s.len())));
        let Some((word, m)) = m else {
            return Ok(None);
        };
        self.take(word.len());
        self.lex_blank();
        if self.lex_str("(") {
            return Ok(Some((m, Rhs::List(self.parse_list_remainder()?))));
        }
        let n = self.ident_len(0);
        if n > 0 {
            let id = &self.rest()[..n];
            if id != b"and" && id != b"or" {
                self.take(n);
                return Ok(Some((m, Rhs::Name(self.last.clone()))));
            }
        }
        (self.pos, self.last) = save;
        Ok(None)
    }

    fn parse_num_value_or_transformer(&mut self) -> R<Rhs> {
        self.guarded(|p| {
            p.lex_blank();
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if p.lex_hex_num() || p.lex_num() {
                return Ok(Rhs::Value(p.last.clone()));
            }
            Err(p.err(format!(
                "expected a number value or a field with a valid transformer: {TRANSFORMER_NAMES}"
            )))
        })
    }

    fn parse_str_value(&mut self) -> R<String> {
        self.guarded(|p| {
            p.lex_blank();
            if p.lex_quoted_str()? || p.lex_bare_str() {
                return Ok(p.last.clone());
            }
            Err(p.err("expected a string value"))
        })
    }

    fn parse_str_value_or_transformer(&mut self, no_transformer: bool) -> R<Rhs> {
        if no_transformer {
            return self.parse_str_value().map(Rhs::Value);
        }
        self.guarded(|p| {
            p.lex_blank();
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if p.lex_quoted_str()? || p.lex_bare_str() {
                return Ok(Rhs::Value(p.last.clone()));
            }
            Err(p.err(format!(
                "expected a string value or a field with a valid transformer: {TRANSFORMER_NAMES}"
            )))
        })
    }

    /// After `(`: string values separated by commas, then `)`.
    fn parse_list_remainder(&mut self) -> R<Vec<String>> {
        let mut values = Vec::new();
        self.lex_blank();
        let depth = self.depth;
        match self.parse_str_value() {
            Ok(v) => {
                values.push(v);
                self.lex_blank();
                while self.lex_str(",") {
                    values.push(self.parse_str_value()?);
                    self.lex_blank();
                }
            }
            Err(_) => self.depth = depth,
        }
        if !self.lex_str(")") {
            return Err(self.err("expected a ')' token"));
        }
        Ok(values)
    }

    fn parse_list_value_or_transformer(&mut self) -> R<Rhs> {
        self.guarded(|p| {
            p.lex_blank();
            if p.lex_str("(") {
                return Ok(Rhs::List(p.parse_list_remainder()?));
            }
            if let Some(o) = p.try_parse_transformer_or_val()? {
                return Ok(Rhs::Operand(o));
            }
            if p.lex_identifier() {
                return Ok(Rhs::Name(p.last.clone()));
            }
            Err(p.err(format!(
                "expected a list, an identifier, or a field with a valid transformer: {TRANSFORMER_NAMES}"
            )))
        })
    }

    fn try_parse_transformer_or_val(&mut self) -> R<Option<Operand>> {
        self.guarded(|p| {
            p.lex_blank();
            let pos = p.pos;
            if p.lex_str("val(") {
                p.lex_blank();
                let fpos = p.pos;
                if !p.lex_field_name() {
                    return Err(p.err("expected a field within 'val' transformer"));
                }
                let name = p.last.clone();
                let field = p.parse_field_remainder(name, fpos)?;
                p.lex_blank();
                if !p.lex_str(")") {
                    return Err(p.err("expected a ')' token closing the transformer"));
                }
                // accepted by the parser (`val(f)[x]`); the compiler refuses it
                let arg = p.parse_field_arg()?;
                let field = Box::new(field);
                return Ok(Some(match arg {
                    None => Operand::Val { field, pos },
                    Some(arg) => Operand::Transform {
                        func: Transformer::Val,
                        args: vec![TArg::Operand(*field)],
                        arg: Some(arg),
                        pos,
                    },
                }));
            }
            if let Some(t) = p.lex_transformer_type() {
                p.lex_blank();
                return Ok(Some(p.parse_transformer_remainder(t, pos)?));
            }
            Ok(None)
        })
    }
}

/// libsinsp's `unescape_str` over a quoted token (delimiters included).
fn unescape(raw: &[u8]) -> Result<String, String> {
    let delim = raw[0];
    let inner = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if !escaped {
            if c == b'\\' {
                escaped = true;
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'x' => {
                let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
                match (hex(inner.get(i)), hex(inner.get(i + 1))) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err("invalid \\x escape: two hexadecimal digits expected".into()),
                }
                i += 2;
            }
            b'"' | b'\'' => {
                if c != delim {
                    return Err(if c == b'"' {
                        "invalid \\\" escape in '-quoted string".to_string()
                    } else {
                        "invalid \\' escape in \"-quoted string".to_string()
                    });
                }
                out.push(c);
            }
            _ => {
                return Err(format!(
                    "unsupported string escape sequence: \\{}",
                    c as char
                ))
            }
        }
        escaped = false;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_not_parity() {
        let e = parse("a.a=1 or b.b=2 and c").unwrap();
        match e {
            Expr::Or(v) => {
                assert!(matches!(v[0], Expr::Cmp { op: Op::Eq, .. }));
                assert!(matches!(&v[1], Expr::And(w) if w.len() == 2));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("not not a").unwrap(), Expr::Ident { .. }));
        assert!(matches!(parse("not(not(a))").unwrap(), Expr::Not(_)));
    }

    #[test]
    fn modifiers_and_plain_words() {
        let e = parse("proc.name == anyof and fd.name exists").unwrap();
        let Expr::And(v) = e else { panic!() };
        assert!(
            matches!(&v[0], Expr::Cmp { modifier: None, right: Rhs::Value(s), .. } if s == "anyof")
        );
        let e = parse("proc.name != oneof (a, b)").unwrap();
        assert!(matches!(
            e,
            Expr::Cmp {
                op: Op::Ne,
                modifier: Some(Modifier::OneOf),
                right: Rhs::List(_),
                ..
            }
        ));
    }

    #[test]
    fn errors_name_the_token() {
        let e = parse("a.b = b = 1").unwrap_err();
        assert_eq!(
            e.message,
            "unexpected token after 'b', expecting 'or', 'and'"
        );
        let e = parse("a andb").unwrap_err();
        assert_eq!(e.message, "expected blank or '(' after 'and'");
        assert_eq!(e.pos.col, 6);
    }
}
