//! Template parameters, and the little intrinsic evaluation the engine does with them: an image
//! given as `Ref`/`Fn::Sub` over known parameters is resolved to look up its ENTRYPOINT/CMD.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Options;
use crate::intrinsic;

/// Template parameter values: `--parameter` over each parameter's `Default`. `parameters` is the
/// template's `Parameters` section, if any.
pub fn template_parameters(parameters: Option<&Value>, opts: &Options) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    {
        if let Some(Value::Object(params)) = parameters {
            for (name, p) in params {
                if let Some(d) = p.get("Default") {
                    let s = match d {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => continue,
                    };
                    out.insert(name.clone(), s);
                }
            }
        }
    }
    for (k, val) in &opts.parameters {
        out.insert(k.clone(), val.clone());
    }
    out
}

/// A scalar's text: a literal (string, number, boolean), or a `Ref`/`Fn::Sub` over known
/// parameters. What the budget fitting and lint's ECS validator both read values with.
pub fn scalar(v: &Value, params: &BTreeMap<String, String>) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => resolve(other, params),
    }
}

/// The value of a `Ref`/`Fn::Sub` over known parameters.
pub(super) fn resolve(v: &Value, params: &BTreeMap<String, String>) -> Option<String> {
    let name = intrinsic::name(v)?;
    let arg = intrinsic::argument(v)?;
    match name.as_str() {
        "Ref" => params.get(arg.as_str()?).cloned(),
        "Fn::Sub" => {
            let s = arg.as_str()?;
            let mut out = String::new();
            let mut rest = s;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                if let Some(stripped) = after.strip_prefix('!') {
                    // `${!Literal}` is a literal `${Literal}`.
                    let end = stripped.find('}')?;
                    out.push_str("${");
                    out.push_str(&stripped[..=end]);
                    rest = &stripped[end + 1..];
                    continue;
                }
                let end = after.find('}')?;
                out.push_str(params.get(&after[..end])?);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Some(out)
        }
        _ => None,
    }
}
