//! Conditions compiled against the field table, and their evaluation.
//!
//! Falco's semantics: a field that cannot be extracted makes its comparison
//! false (so `not <comparison>` is true); a field with several values
//! (`proc.aname` without an index: every ancestor) satisfies a comparison when
//! one of its values does; `oneof`/`anyof`/`allof` apply the operator to each
//! element of the list and need exactly one, at least one, or every element
//! to hold.
use crate::condition::{Expr, Modifier, Op, Operand, Pos, Rhs, TArg, Transformer};
use crate::fields::{self, Def, Ty, F};
use crate::state::{Ctx, Ext, V};
use crate::FxHashSet as HashSet;
use std::borrow::Cow;
use std::net::IpAddr;

/// A compile error: message and position in the condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub pos: Pos,
}

/// A compiled condition.
#[derive(Debug)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Exists(Source),
    Cmp {
        left: Source,
        op: Op,
        modifier: Option<Modifier>,
        right: Right,
    },
}

/// Where values come from: a field, or a transformer over fields.
#[derive(Debug)]
pub enum Source {
    Field {
        def: Def,
        name: String,
        arg: Option<String>,
    },
    Transform {
        func: Transformer,
        args: Vec<TSource>,
        ty: Ty,
    },
    Literal(String),
}

#[derive(Debug)]
pub enum TSource {
    One(Source),
    List(Vec<Source>),
}

/// A literal compared against: prepared once for the field's type.
#[derive(Debug)]
pub struct Lit {
    pub text: String,
    lower: String,
    num: Option<i64>,
    ip: Option<IpAddr>,
    net: Option<(IpAddr, u8)>,
    re: Option<regex_lite::Regex>,
    bytes: Option<Vec<u8>>,
}

#[derive(Debug)]
pub enum Right {
    One(Lit),
    List(Vec<Lit>, HashSet<String>),
    Source(Source),
}

impl Source {
    pub fn ty(&self) -> Ty {
        match self {
            Source::Field { def, .. } => def.ty,
            Source::Transform { ty, .. } => *ty,
            Source::Literal(_) => Ty::Str,
        }
    }

    /// Field names this source reads that kiltx cannot supply.
    pub fn missing(&self, out: &mut Vec<String>) {
        match self {
            Source::Field { def, name, .. } if def.f == F::Missing && !out.contains(name) => {
                out.push(name.clone());
            }
            Source::Transform { args, .. } => {
                for a in args {
                    match a {
                        TSource::One(s) => s.missing(out),
                        TSource::List(l) => l.iter().for_each(|s| s.missing(out)),
                    }
                }
            }
            _ => {}
        }
    }
}

impl Node {
    pub fn missing(&self, out: &mut Vec<String>) {
        match self {
            Node::And(v) | Node::Or(v) => v.iter().for_each(|n| n.missing(out)),
            Node::Not(n) => n.missing(out),
            Node::Exists(s) => s.missing(out),
            Node::Cmp { left, right, .. } => {
                left.missing(out);
                if let Right::Source(s) = right {
                    s.missing(out);
                }
            }
        }
    }

    /// Can this condition hold at all when every field kiltx cannot supply
    /// is missing? `false` means the rule can never fire under kiltx.
    pub fn possible(&self) -> bool {
        let missing = |s: &Source| {
            let mut m = Vec::new();
            s.missing(&mut m);
            !m.is_empty()
        };
        match self {
            Node::And(v) => v.iter().all(Node::possible),
            Node::Or(v) => v.iter().any(Node::possible),
            Node::Not(_) => true,
            Node::Exists(s) | Node::Cmp { left: s, .. } => !missing(s),
        }
    }

    /// The event types this condition can match (`None`: any), as Falco
    /// infers them from `evt.type` comparisons.
    pub fn evttypes(&self) -> Option<HashSet<String>> {
        match self {
            Node::Cmp {
                left: Source::Field { def, .. },
                op,
                modifier: None,
                right,
            } if def.f == F::EvtType => match (op, right) {
                (Op::Eq, Right::One(l)) => Some([l.text.clone()].into_iter().collect()),
                (Op::In, Right::List(_, set)) => Some(set.clone()),
                _ => None,
            },
            Node::And(v) => {
                let mut acc: Option<HashSet<String>> = None;
                for s in v.iter().filter_map(Node::evttypes) {
                    acc = Some(match acc {
                        None => s,
                        Some(a) => a.intersection(&s).cloned().collect(),
                    });
                }
                acc
            }
            Node::Or(v) => {
                let mut acc = HashSet::default();
                for n in v {
                    acc.extend(n.evttypes()?);
                }
                Some(acc)
            }
            _ => None,
        }
    }
}

fn err(message: impl Into<String>, pos: Pos) -> CompileError {
    CompileError {
        message: message.into(),
        pos,
    }
}

/// Compile a parsed condition whose macros have been resolved.
pub fn compile(e: &Expr) -> Result<Node, CompileError> {
    Ok(match e {
        Expr::And(v) => Node::And(v.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Or(v) => Node::Or(v.iter().map(compile).collect::<Result<_, _>>()?),
        Expr::Not(n) => Node::Not(Box::new(compile(n)?)),
        Expr::Ident { name, pos } => {
            return Err(err(
                format!("Undefined macro '{name}' used in filter."),
                *pos,
            ))
        }
        Expr::Exists { left, .. } => Node::Exists(source(left)?),
        Expr::Cmp {
            left,
            op,
            modifier,
            right,
            pos,
        } => {
            let left = source(left)?;
            let ty = left.ty();
            check_op(ty, *op, *pos)?;
            let right = match right {
                Rhs::Value(v) => {
                    if matches!(op, Op::In | Op::Intersects | Op::Pmatch) {
                        return Err(err(
                            format!("operator '{}' needs a list", op.as_str()),
                            *pos,
                        ));
                    }
                    if modifier.is_some() {
                        return Err(err("a modifier needs a list", *pos));
                    }
                    Right::One(lit(v, ty, *op, *pos)?)
                }
                Rhs::List(items) => {
                    let lits = items
                        .iter()
                        .map(|v| lit(v, ty, *op, *pos))
                        .collect::<Result<Vec<_>, _>>()?;
                    let set = lits.iter().map(|l| l.text.clone()).collect();
                    Right::List(lits, set)
                }
                Rhs::Name(n) => {
                    return Err(err(
                        format!(
                        "'{n}' is not a defined list (write the list in parentheses, or define it)"
                    ),
                        *pos,
                    ))
                }
                Rhs::Operand(o) => {
                    if modifier.is_some() {
                        return Err(err("a modifier needs a list", *pos));
                    }
                    Right::Source(source(o)?)
                }
            };
            Node::Cmp {
                left,
                op: *op,
                modifier: *modifier,
                right,
            }
        }
    })
}

fn check_op(ty: Ty, op: Op, pos: Pos) -> Result<(), CompileError> {
    let ok = match ty {
        Ty::Str => true,
        Ty::Num => matches!(
            op,
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In | Op::Intersects
        ),
        Ty::Bool => matches!(op, Op::Eq | Op::Ne | Op::In),
        Ty::Ip | Ty::Net => matches!(op, Op::Eq | Op::Ne | Op::In | Op::Intersects),
    };
    if ok {
        Ok(())
    } else {
        Err(err(
            format!(
                "operator '{}' is not supported for a field of type {ty:?}",
                op.as_str()
            ),
            pos,
        ))
    }
}

fn parse_num(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse::<i64>()
        .ok()
        .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
}

fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    match s.split_once('/') {
        Some((a, p)) => Some((a.parse().ok()?, p.parse().ok()?)),
        None => {
            let a: IpAddr = s.parse().ok()?;
            Some((a, if a.is_ipv4() { 32 } else { 128 }))
        }
    }
}

fn in_net(ip: &IpAddr, (net, bits): &(IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let m = if *bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from((*bits).min(32)))
            };
            u32::from(*a) & m == u32::from(*n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let m = if *bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from((*bits).min(128)))
            };
            u128::from(*a) & m == u128::from(*n) & m
        }
        _ => false,
    }
}

fn lit(v: &str, ty: Ty, op: Op, pos: Pos) -> Result<Lit, CompileError> {
    let mut l = Lit {
        text: v.to_string(),
        lower: v.to_ascii_lowercase(),
        num: None,
        ip: None,
        net: None,
        re: None,
        bytes: None,
    };
    match ty {
        Ty::Num => {
            l.num =
                Some(parse_num(v).ok_or_else(|| err(format!("'{v}' is not a valid number"), pos))?)
        }
        Ty::Bool => {
            if !matches!(v, "true" | "false") {
                return Err(err(
                    format!("'{v}' is not a valid boolean (true or false)"),
                    pos,
                ));
            }
        }
        Ty::Ip => {
            l.ip = Some(
                v.parse()
                    .map_err(|_| err(format!("'{v}' is not a valid IP address"), pos))?,
            )
        }
        Ty::Net => {
            l.net = Some(
                parse_net(v).ok_or_else(|| err(format!("'{v}' is not a valid IP network"), pos))?,
            )
        }
        Ty::Str => {}
    }
    match op {
        Op::Regex => {
            l.re = Some(
                regex_lite::Regex::new(&format!("^(?:{v})$"))
                    .map_err(|e| err(format!("invalid regular expression '{v}': {e}"), pos))?,
            )
        }
        Op::BContains | Op::BStartsWith => {
            let h = v.as_bytes();
            let ok = h.len() % 2 == 0 && h.iter().all(u8::is_ascii_hexdigit);
            if !ok {
                return Err(err(format!("'{v}' is not a valid hex string"), pos));
            }
            l.bytes = Some(
                h.chunks(2)
                    .map(|c| {
                        u8::from_str_radix(std::str::from_utf8(c).unwrap_or("00"), 16).unwrap_or(0)
                    })
                    .collect(),
            );
        }
        _ => {}
    }
    Ok(l)
}

fn source(o: &Operand) -> Result<Source, CompileError> {
    Ok(match o {
        Operand::Field { name, arg, pos } => {
            let (def, arg) = fields::resolve(name, arg.as_deref()).map_err(|m| err(m, *pos))?;
            Source::Field {
                def,
                name: name.clone(),
                arg,
            }
        }
        Operand::Val { field, .. } => source(field)?,
        Operand::Transform {
            func,
            args,
            arg,
            pos,
        } => {
            if arg.is_some() || *func == Transformer::Val {
                return Err(err(
                    format!(
                        "transformer '{}' does not support field arguments",
                        func.as_str()
                    ),
                    *pos,
                ));
            }
            let targs = args.iter().map(targ).collect::<Result<Vec<_>, _>>()?;
            let arity_ok = match func {
                Transformer::Join => {
                    targs.len() == 2
                        && matches!(targs[1], TSource::List(_))
                        && matches!(targs[0], TSource::One(_))
                }
                Transformer::Concat => {
                    targs.len() >= 2 && targs.iter().all(|a| matches!(a, TSource::One(_)))
                }
                Transformer::Getopt => targs.len() == 2,
                _ => targs.len() == 1 && matches!(targs[0], TSource::One(_)),
            };
            if !arity_ok {
                return Err(err(
                    format!("wrong arguments for transformer '{}'", func.as_str()),
                    *pos,
                ));
            }
            let ty = if *func == Transformer::Len {
                Ty::Num
            } else {
                Ty::Str
            };
            Source::Transform {
                func: *func,
                args: targs,
                ty,
            }
        }
    })
}

fn targ(a: &TArg) -> Result<TSource, CompileError> {
    Ok(match a {
        TArg::Operand(o) => TSource::One(source(o)?),
        TArg::Str(s) | TArg::Num(s) => TSource::One(Source::Literal(s.clone())),
        TArg::List(l) => TSource::List(
            l.iter()
                .map(|a| match targ(a)? {
                    TSource::One(s) => Ok(s),
                    TSource::List(_) => unreachable!("the parser refuses nested lists"),
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn b64_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

impl Source {
    pub fn eval<'a>(&self, ctx: &Ctx<'a>) -> Ext<'a> {
        match self {
            Source::Field { def, arg, .. } => ctx.extract(def.f, arg.as_deref()),
            Source::Literal(s) => Ext::One(V::S(Cow::Owned(s.clone()))),
            Source::Transform { func, args, .. } => {
                let one = |t: &TSource| -> Option<String> {
                    match t {
                        TSource::One(s) => s
                            .eval(ctx)
                            .values()
                            .first()
                            .map(|v| v.to_text().into_owned()),
                        TSource::List(_) => None,
                    }
                };
                let r = match func {
                    Transformer::Join => {
                        let sep = one(&args[0]);
                        match (&args[1], sep) {
                            (TSource::List(items), Some(sep)) => {
                                let mut parts = Vec::new();
                                for s in items {
                                    for v in s.eval(ctx).values() {
                                        parts.push(v.to_text().into_owned());
                                    }
                                }
                                Some(V::S(Cow::Owned(parts.join(&sep))))
                            }
                            _ => None,
                        }
                    }
                    Transformer::Concat => {
                        let mut s = String::new();
                        for a in args {
                            s.push_str(&one(a).unwrap_or_default());
                        }
                        Some(V::S(Cow::Owned(s)))
                    }
                    Transformer::Getopt | Transformer::Val => None,
                    _ => {
                        let TSource::One(src) = &args[0] else {
                            return Ext::None;
                        };
                        let vals: Vec<V<'a>> = src
                            .eval(ctx)
                            .values()
                            .iter()
                            .filter_map(|v| {
                                let t = v.to_text();
                                Some(match func {
                                    Transformer::ToLower => V::S(Cow::Owned(t.to_lowercase())),
                                    Transformer::ToUpper => V::S(Cow::Owned(t.to_uppercase())),
                                    Transformer::B64 => V::S(Cow::Owned(b64_decode(&t)?)),
                                    Transformer::Basename => V::S(Cow::Owned(
                                        t.rsplit('/').next().unwrap_or("").to_string(),
                                    )),
                                    _ => V::N(t.len() as i64),
                                })
                            })
                            .collect();
                        return match vals.len() {
                            0 => Ext::None,
                            1 => Ext::One(vals.into_iter().next().expect("one")),
                            _ => Ext::Many(vals),
                        };
                    }
                };
                r.map_or(Ext::None, Ext::One)
            }
        }
    }
}

/// fnmatch(3) without flags: `*`, `?`, `[...]` (`[!...]`), `\` escapes.
pub fn glob(p: &[u8], s: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some(pi);
                    mark = si;
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(p, pi, s[si], fold) {
                        if matched {
                            pi = next;
                            si += 1;
                            continue;
                        }
                    } else if eq(b'[', s[si]) {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() => {
                    if eq(p[pi + 1], s[si]) {
                        pi += 2;
                        si += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[si]) {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some(sp) => {
                pi = sp + 1;
                mark += 1;
                si = mark;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// A `[...]` class at `p[i]`: (does `c` match, index after the class), or
/// `None` when the bracket is not closed.
fn class(p: &[u8], i: usize, c: u8, fold: bool) -> Option<(bool, usize)> {
    let mut j = i + 1;
    let neg = matches!(p.get(j), Some(b'!' | b'^'));
    if neg {
        j += 1;
    }
    let c = if fold { c.to_ascii_lowercase() } else { c };
    let mut matched = false;
    let mut first = true;
    while j < p.len() && (first || p[j] != b']') {
        first = false;
        let lo = if fold {
            p[j].to_ascii_lowercase()
        } else {
            p[j]
        };
        if j + 2 < p.len() && p[j + 1] == b'-' && p[j + 2] != b']' {
            let hi = if fold {
                p[j + 2].to_ascii_lowercase()
            } else {
                p[j + 2]
            };
            matched |= lo <= c && c <= hi;
            j += 3;
        } else {
            matched |= lo == c;
            j += 1;
        }
    }
    if j >= p.len() {
        return None;
    }
    Some((matched != neg, j + 1))
}

fn icontains(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    let h = hay.as_bytes();
    let n = needle_lower.as_bytes();
    h.len() >= n.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// `v op lit` for one value.
fn cmp_one(v: &V, ty: Ty, op: Op, l: &Lit) -> bool {
    match ty {
        Ty::Num => {
            let (Some(a), Some(b)) = (as_num(v), l.num) else {
                return false;
            };
            match op {
                Op::Eq | Op::In | Op::Intersects => a == b,
                Op::Ne => a != b,
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                _ => false,
            }
        }
        Ty::Bool => {
            let a = matches!(v, V::B(true)) || matches!(v, V::S(s) if s == "true");
            let b = l.text == "true";
            match op {
                Op::Ne => a != b,
                _ => a == b,
            }
        }
        Ty::Ip | Ty::Net => {
            let Ok(ip) = v.to_text().parse::<IpAddr>() else {
                return false;
            };
            let hit = match (ty, &l.net, &l.ip) {
                (Ty::Net, Some(n), _) => in_net(&ip, n),
                (_, _, Some(a)) => ip == *a,
                _ => false,
            };
            if op == Op::Ne {
                !hit
            } else {
                hit
            }
        }
        Ty::Str => {
            let t = v.to_text();
            let s: &str = &t;
            match op {
                Op::Eq | Op::In | Op::Intersects => s == l.text,
                Op::Ne => s != l.text,
                Op::Contains => s.contains(l.text.as_str()),
                Op::IContains => icontains(s, &l.lower),
                Op::StartsWith => s.starts_with(l.text.as_str()),
                Op::EndsWith => s.ends_with(l.text.as_str()),
                Op::Glob => glob(l.text.as_bytes(), s.as_bytes(), false),
                Op::IGlob => glob(l.text.as_bytes(), s.as_bytes(), true),
                Op::Regex => l.re.as_ref().is_some_and(|r| r.is_match(s)),
                Op::BContains => l.bytes.as_ref().is_some_and(|b| {
                    b.is_empty() || s.as_bytes().windows(b.len()).any(|w| w == b.as_slice())
                }),
                Op::BStartsWith => l
                    .bytes
                    .as_ref()
                    .is_some_and(|b| s.as_bytes().starts_with(b)),
                Op::Lt => s < l.text.as_str(),
                Op::Le => s <= l.text.as_str(),
                Op::Gt => s > l.text.as_str(),
                Op::Ge => s >= l.text.as_str(),
                Op::Pmatch => {
                    let p = l.text.trim_end_matches('/');
                    s == p
                        || s.starts_with(p) && s.as_bytes().get(p.len()) == Some(&b'/')
                        || p.is_empty()
                }
            }
        }
    }
}

fn as_num(v: &V) -> Option<i64> {
    match v {
        V::N(n) => Some(*n),
        V::B(b) => Some(i64::from(*b)),
        V::S(s) => parse_num(s),
    }
}

impl Node {
    pub fn eval(&self, ctx: &Ctx) -> bool {
        match self {
            Node::And(v) => v.iter().all(|n| n.eval(ctx)),
            Node::Or(v) => v.iter().any(|n| n.eval(ctx)),
            Node::Not(n) => !n.eval(ctx),
            Node::Exists(s) => !matches!(s.eval(ctx), Ext::None),
            Node::Cmp {
                left,
                op,
                modifier,
                right,
            } => {
                let vals = left.eval(ctx);
                let vals = vals.values();
                if vals.is_empty() {
                    return false;
                }
                let ty = left.ty();
                vals.iter()
                    .any(|v| cmp_value(v, ty, *op, *modifier, right, ctx))
            }
        }
    }
}

fn cmp_value(v: &V, ty: Ty, op: Op, modifier: Option<Modifier>, right: &Right, ctx: &Ctx) -> bool {
    match right {
        Right::One(l) => cmp_one(v, ty, op, l),
        Right::List(lits, set) => match modifier {
            Some(m) => {
                let n = lits.iter().filter(|l| cmp_one(v, ty, op, l)).count();
                match m {
                    Modifier::OneOf => n == 1,
                    Modifier::AnyOf => n >= 1,
                    Modifier::AllOf => n == lits.len() && n > 0,
                }
            }
            None => match (op, ty) {
                (Op::In | Op::Intersects, Ty::Str) => set.contains(v.to_text().as_ref()),
                (Op::In | Op::Intersects | Op::Pmatch, _) => {
                    lits.iter().any(|l| cmp_one(v, ty, op, l))
                }
                _ => false,
            },
        },
        Right::Source(s) => {
            let r = s.eval(ctx);
            r.values().iter().any(|rv| {
                let l = match lit(&rv.to_text(), ty, op, Pos::default()) {
                    Ok(l) => l,
                    Err(_) => return false,
                };
                cmp_one(v, ty, op, &l)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_fnmatch() {
        assert!(glob(b"/home/*/.ssh/*", b"/home/a/.ssh/id_rsa", false));
        assert!(glob(b"*../*../*", b"/etc/../etc/../etc/shadow", false));
        assert!(!glob(b"*../*../*", b"/etc/../shadow", false));
        assert!(glob(b"MY*", b"myexe", true));
        assert!(glob(b"a[bc]?", b"acx", false));
        assert!(!glob(b"a[!bc]x", b"abx", false));
    }

    #[test]
    fn networks() {
        let n = parse_net("127.0.0.0/8").unwrap();
        assert!(in_net(&"127.1.2.3".parse().unwrap(), &n));
        assert!(!in_net(&"10.0.0.1".parse().unwrap(), &n));
        assert_eq!(b64_decode("dGVzdA==").as_deref(), Some("test"));
    }
}
