//! CloudFormation intrinsic functions in the value model.
//!
//! Long form (`{"Ref": "X"}`, `{"Fn::Sub": "..."}`) and YAML short form (`{"!Ref": "X"}`, see
//! [`crate::source`]) are both recognised; [`name`] reports the long-form name for either.

use serde_json::Value;

/// The long-form name of the intrinsic function `v` is (`Ref`, `Condition`, `Fn::Sub`, ...), or
/// `None` when `v` is not an intrinsic.
pub fn name(v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let key = obj.keys().next()?;
    long_name(key)
}

/// The long-form name for a key that denotes an intrinsic, in either form.
pub fn long_name(key: &str) -> Option<String> {
    if key == "Ref" || key == "Condition" || key.starts_with("Fn::") {
        return Some(key.to_string());
    }
    let tag = key.strip_prefix('!')?;
    if tag.is_empty() || tag.starts_with('!') {
        return None;
    }
    Some(match tag {
        "Ref" | "Condition" => tag.to_string(),
        other => format!("Fn::{other}"),
    })
}

/// Whether `v` is an intrinsic function.
pub fn is_intrinsic(v: &Value) -> bool {
    name(v).is_some()
}

/// The argument of an intrinsic (`X` in `{"Ref": X}`).
pub fn argument(v: &Value) -> Option<&Value> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.values().next()
}

/// A short description for messages: `Ref`, `Fn::If`, or the JSON type of a plain value.
pub fn describe(v: &Value) -> String {
    if let Some(n) = name(v) {
        return format!("the intrinsic function {n}");
    }
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_both_forms() {
        assert_eq!(name(&json!({"Ref": "X"})).as_deref(), Some("Ref"));
        assert_eq!(name(&json!({"!Ref": "X"})).as_deref(), Some("Ref"));
        assert_eq!(name(&json!({"!Sub": "a"})).as_deref(), Some("Fn::Sub"));
        assert_eq!(name(&json!({"Fn::If": []})).as_deref(), Some("Fn::If"));
        assert_eq!(
            name(&json!({"!Condition": "C"})).as_deref(),
            Some("Condition")
        );
        assert_eq!(name(&json!({"Name": "X"})), None);
        assert_eq!(name(&json!({"Ref": "X", "Other": 1})), None);
        assert_eq!(name(&json!("Ref")), None);
    }
}
