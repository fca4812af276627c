//! A small JSON reader for event lines: strings are borrowed from the line
//! unless they hold escapes, numbers are kept as written and converted when
//! read, objects are key/value vectors in line order. A line costs a handful
//! of allocations instead of one per string (what a general JSON value
//! costs), which is most of the engine's time otherwise.
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq)]
pub enum J<'a> {
    Null,
    Bool(bool),
    /// A number as written.
    Num(&'a str),
    Str(Cow<'a, str>),
    Arr(Vec<J<'a>>),
    Obj(Obj<'a>),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Obj<'a>(pub Vec<(Cow<'a, str>, J<'a>)>);

impl<'a> Obj<'a> {
    pub fn get(&self, k: &str) -> Option<&J<'a>> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &J<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn values(&self) -> impl Iterator<Item = &J<'a>> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl<'a> J<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            J::Num(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            J::Num(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            J::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[J<'a>]> {
        match self {
            J::Arr(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            J::Obj(o) => Some(o),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, J::Null)
    }
}

/// Parse one JSON value (the whole input, blanks around it allowed).
pub fn parse(b: &[u8]) -> Option<J<'_>> {
    let s = std::str::from_utf8(b).ok()?;
    let mut p = P {
        s,
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.value()?;
    p.ws();
    (p.i == p.b.len()).then_some(v)
}

/// Walk the members of a top-level object without building it: `f` gets
/// each key and value in order. `None` if the input is not one JSON object.
pub fn members<'a>(b: &'a [u8], mut f: impl FnMut(Cow<'a, str>, J<'a>)) -> Option<()> {
    let s = std::str::from_utf8(b).ok()?;
    let mut p = P {
        s,
        b: s.as_bytes(),
        i: 0,
        depth: 1,
    };
    p.ws();
    if p.b.get(p.i) != Some(&b'{') {
        return None;
    }
    p.i += 1;
    p.ws();
    if p.b.get(p.i) == Some(&b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            if p.b.get(p.i) != Some(&b'"') {
                return None;
            }
            let k = p.string()?;
            p.ws();
            if p.b.get(p.i) != Some(&b':') {
                return None;
            }
            p.i += 1;
            let v = p.value()?;
            f(k, v);
            p.ws();
            match p.b.get(p.i)? {
                b',' => p.i += 1,
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(())
}

struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<J<'a>> {
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.depth += 1;
                if self.depth > 64 {
                    return None;
                }
                self.i += 1;
                let mut kv = Vec::with_capacity(if self.depth == 1 { 20 } else { 8 });
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return None;
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return None;
                        }
                        self.i += 1;
                        let v = self.value()?;
                        kv.push((k, v));
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(J::Obj(Obj(kv)))
            }
            b'[' => {
                self.depth += 1;
                if self.depth > 64 {
                    return None;
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                self.depth -= 1;
                Some(J::Arr(items))
            }
            b'"' => Some(J::Str(self.string()?)),
            b't' if self.b[self.i..].starts_with(b"true") => {
                self.i += 4;
                Some(J::Bool(true))
            }
            b'f' if self.b[self.i..].starts_with(b"false") => {
                self.i += 5;
                Some(J::Bool(false))
            }
            b'n' if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Some(J::Null)
            }
            b'-' | b'0'..=b'9' => {
                let st = self.i;
                self.i += 1;
                while self.i < self.b.len()
                    && matches!(
                        self.b[self.i],
                        b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'
                    )
                {
                    self.i += 1;
                }
                Some(J::Num(&self.s[st..self.i]))
            }
            _ => None,
        }
    }

    /// At a `"`: the string, borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let st = self.i;
        let n = self.b[st..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        self.i = st + n;
        match self.b[self.i] {
            b'"' => {
                self.i += 1;
                return Some(Cow::Borrowed(&self.s[st..st + n]));
            }
            b'\\' => {}
            _ => return None,
        }
        // with escapes
        let mut out = String::from(&self.s[st..self.i]);
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let e = *self.b.get(self.i + 1)?;
                    self.i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hex = |p: &mut Self| -> Option<u32> {
                                let h = p.s.get(p.i..p.i + 4)?;
                                p.i += 4;
                                u32::from_str_radix(h, 16).ok()
                            };
                            let mut cp = hex(self)?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.b[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = hex(self)?;
                                cp = 0x10000
                                    + ((cp - 0xd800) << 10)
                                    + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => {
                    // copy a run of plain characters
                    let st = self.i;
                    while self.i < self.b.len()
                        && !matches!(self.b[self.i], b'"' | b'\\')
                        && self.b[self.i] >= 0x20
                    {
                        self.i += 1;
                    }
                    out.push_str(&self.s[st..self.i]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_tracer_writes() {
        let v = parse(br#"{"a":"x\"y\u00e9\n","n":-12,"f":1.5e3,"b":true,"z":null,"l":["O_RDONLY"],"o":{"k":{}}}"#).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.get("a").unwrap().as_str(), Some("x\"y\u{e9}\n"));
        assert_eq!(o.get("n").unwrap().as_i64(), Some(-12));
        assert_eq!(o.get("b").unwrap().as_bool(), Some(true));
        assert!(o.get("z").unwrap().is_null());
        assert_eq!(o.get("l").unwrap().as_array().unwrap().len(), 1);
        assert!(parse(b"{\"a\":1} x").is_none());
        assert!(parse(b"{\"a\":").is_none());
        assert!(parse(b"\xff").is_none());
    }
}
