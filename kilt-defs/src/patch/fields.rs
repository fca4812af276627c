//! Reading and writing ECS fields in the value model, the way every step does it: keys matched
//! without regard to case (as ECS's own JSON decoding and Terraform do), new keys spelled in the
//! site's [`Dialect`], and errors that say what was expected where.

use serde_json::{Map, Value};

use crate::error::{Error, Path};
use crate::intrinsic;
use crate::shape::Dialect;
use crate::source::PathStep;

/// The value at `path`, for changing it.
pub(crate) fn get_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            PathStep::Index(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// A step further down a path.
pub(super) fn at(path: &Path, step: impl Into<Step>) -> Path {
    let mut p = path.clone();
    p.push(match step.into() {
        Step::K(k) => PathStep::Key(k),
        Step::I(i) => PathStep::Index(i),
    });
    p
}

pub(super) enum Step {
    K(String),
    I(usize),
}
impl From<&str> for Step {
    fn from(s: &str) -> Self {
        Step::K(s.to_string())
    }
}
impl From<&String> for Step {
    fn from(s: &String) -> Self {
        Step::K(s.clone())
    }
}
impl From<usize> for Step {
    fn from(i: usize) -> Self {
        Step::I(i)
    }
}

/// The actual key in `m` that spells the ECS field `camel` (keys are matched without regard to
/// case, as ECS's own JSON decoding and Terraform do). Two spellings at once are an error.
pub(super) fn find_key(
    m: &Map<String, Value>,
    camel: &str,
    path: &Path,
) -> Result<Option<String>, Error> {
    let mut found: Option<&String> = None;
    for k in m.keys() {
        if k.eq_ignore_ascii_case(camel) {
            if let Some(prev) = found {
                return Err(Error::invalid_hint(
                    at(path, k),
                    format!("both {prev:?} and {k:?} are given; they name the same field"),
                    "keep one of them",
                ));
            }
            found = Some(k);
        }
    }
    Ok(found.cloned())
}

pub(super) fn get<'m>(
    m: &'m Map<String, Value>,
    camel: &str,
    path: &Path,
) -> Result<Option<(String, &'m Value)>, Error> {
    Ok(find_key(m, camel, path)?.and_then(|k| m.get(&k).map(|v| (k.clone(), v))))
}

/// The key to write `camel` under: the existing spelling, or the dialect's.
pub(super) fn key_for(
    m: &Map<String, Value>,
    camel: &str,
    dialect: Dialect,
    path: &Path,
) -> Result<String, Error> {
    Ok(find_key(m, camel, path)?.unwrap_or_else(|| dialect.key(camel)))
}

pub(super) fn expected(path: Path, what: &str, found: &Value) -> Error {
    if intrinsic::is_intrinsic(found) {
        Error::invalid_hint(
            path,
            format!("expected {what}, found {}; kiltx must read this value to patch the task definition", intrinsic::describe(found)),
            "write the value literally here (intrinsic functions are fine inside list items and values)",
        )
    } else {
        Error::invalid(
            path,
            format!("expected {what}, found {}", intrinsic::describe(found)),
        )
    }
}

pub(super) fn string_of<'v>(v: &'v Value, path: &Path) -> Result<&'v str, Error> {
    v.as_str()
        .ok_or_else(|| expected(path.clone(), "a string", v))
}

/// A list field: absent → None; intrinsic or other type → error.
pub(super) fn list_of<'v>(
    m: &'v Map<String, Value>,
    camel: &str,
    path: &Path,
) -> Result<Option<(String, &'v Vec<Value>)>, Error> {
    match get(m, camel, path)? {
        None => Ok(None),
        Some((k, Value::Array(a))) => Ok(Some((k, a))),
        Some((k, Value::Null)) => {
            let _ = k;
            Ok(None)
        }
        Some((k, other)) => Err(expected(at(path, &k), "a list", other)),
    }
}

/// The string value of field `camel` of a list entry (`{Name: X}`), matched without case.
pub(super) fn entry_name(entry: &Value, camel: &str) -> Option<String> {
    entry
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(camel))
        .and_then(|(_, v)| v.as_str().map(String::from))
}

/// Check the entries of a list kiltx merges into: each is an object whose `field` is a string
/// or an intrinsic function, or the whole entry is an intrinsic function (e.g. `Fn::If`).
pub(super) fn check_entries(
    list: &[Value],
    field: &str,
    d: Dialect,
    path: &Path,
) -> Result<(), Error> {
    for (i, e) in list.iter().enumerate() {
        let ipath = at(path, i);
        match e {
            Value::Object(m) if !intrinsic::is_intrinsic(e) => {
                if let Some((k, v)) = get(m, field, &ipath)? {
                    if !v.is_string() && !intrinsic::is_intrinsic(v) {
                        return Err(expected(at(&ipath, &k), "a string", v));
                    }
                } else {
                    return Err(Error::invalid(
                        ipath,
                        format!("the entry has no {}", d.key(field)),
                    ));
                }
            }
            Value::Object(_) => {}
            other => return Err(expected(ipath, "an object", other)),
        }
    }
    Ok(())
}

/// The object at `m[key]`, created if absent.
pub(super) fn object_entry<'m>(
    m: &'m mut Map<String, Value>,
    key: &str,
    path: &Path,
) -> Result<&'m mut Map<String, Value>, Error> {
    match m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(o) => Ok(o),
        other => Err(expected(path.clone(), "an object", other)),
    }
}

/// Append `{field: wanted, other: make()}` (keys spelled in `d`) to list `camel` unless an
/// entry's `field` already equals `wanted`.
pub(super) fn merge_entry(
    m: &mut Map<String, Value>,
    camel: &str,
    (field, wanted): (&str, &str),
    (other, make): (&str, impl FnOnce() -> Value),
    d: Dialect,
    path: &Path,
) -> Result<(), Error> {
    let key = key_for(m, camel, d, path)?;
    let lpath = at(path, &key);
    let list = match m.entry(key).or_insert_with(|| Value::Array(vec![])) {
        Value::Array(a) => a,
        other => return Err(expected(lpath, "a list", other)),
    };
    if !list
        .iter()
        .any(|e| entry_name(e, field).as_deref() == Some(wanted))
    {
        let mut e = Map::new();
        e.insert(d.key(field), Value::String(wanted.to_string()));
        e.insert(d.key(other), make());
        list.push(Value::Object(e));
    }
    Ok(())
}

/// Set list field `camel`, or remove it when `list` is empty.
pub(super) fn set_list(
    m: &mut Map<String, Value>,
    camel: &str,
    list: Vec<Value>,
    d: Dialect,
    path: &Path,
) -> Result<(), Error> {
    let key = key_for(m, camel, d, path)?;
    if list.is_empty() {
        m.remove(&key);
    } else {
        m.insert(key, Value::Array(list));
    }
    Ok(())
}

/// A value as messages show it: strings quoted, anything else described.
pub(super) fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => intrinsic::describe(other),
    }
}

/// A copy of an error kept for later (the task's platform, reported by each container that
/// needs it).
pub(super) fn clone_error(e: &Error) -> Error {
    match e {
        Error::Invalid {
            path,
            message,
            hint,
            at,
        } => Error::Invalid {
            path: path.clone(),
            message: message.clone(),
            hint: hint.clone(),
            at: *at,
        },
        other => Error::invalid(vec![], other.to_string()),
    }
}
