//! What kiltx knows of a template's values, and the intrinsic functions it evaluates with them.
//!
//! Every field the engine reads (compatibilities, network mode, runtime platform, budgets,
//! images, log configurations) goes through [`Known::eval`]/[`Known::scalar`]: a value is
//! evaluated whenever all of its inputs are known, and is otherwise unknown, never guessed.
//!
//! Known inputs:
//! - parameters: `--parameter NAME=VALUE` (the macro: the event's `templateParameterValues`)
//!   over each parameter's `Default`. Parameters of the SSM types
//!   (`AWS::SSM::Parameter::Value<…>`) are the exception: their `Default` (and the value a macro
//!   is handed) is the *name* of an SSM parameter, whose value exists only in the account, so
//!   only an explicit `--parameter` gives them a value. List types (`CommaDelimitedList`,
//!   `List<…>`) are lists.
//! - pseudo parameters: `AWS::Region` and `AWS::AccountId` when given (`--parameter
//!   AWS::Region=eu-west-1`; the macro: the event's `region` and `accountId`); `AWS::Partition`
//!   and `AWS::URLSuffix` follow from the region unless given.
//! - the template's `Mappings` and `Conditions`.
//!
//! Evaluated: `Ref`, `Fn::Sub` (both forms), `Fn::Join`, `Fn::Select`, `Fn::Split`,
//! `Fn::FindInMap`, `Fn::If` (with the `Conditions`: `Fn::Equals`, `Fn::And`, `Fn::Or`,
//! `Fn::Not`, `Condition`). Resources' attributes (`Fn::GetAtt`, a `Ref` to a resource) and
//! imports are never known before deployment.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{Frontend, Options};
use crate::intrinsic;

/// Deeper than this, an expression is unknown (no real template nests intrinsics this far;
/// the bound keeps evaluation's stack small whatever the input).
const MAX_DEPTH: usize = 64;

/// The sections of a template that values are evaluated with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sections<'v> {
    pub parameters: Option<&'v Value>,
    pub mappings: Option<&'v Value>,
    pub conditions: Option<&'v Value>,
}

impl<'v> Sections<'v> {
    /// The sections of a CloudFormation template's root object.
    pub fn of(root: &'v Value) -> Sections<'v> {
        Sections {
            parameters: root.get("Parameters"),
            mappings: root.get("Mappings"),
            conditions: root.get("Conditions"),
        }
    }
}

/// What kiltx knows of a template's values (see the module's documentation).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Parameter and pseudo-parameter values (list parameters: comma-separated).
    values: BTreeMap<String, String>,
    /// The list-typed parameters.
    lists: BTreeSet<String>,
    /// SSM-typed parameters without an explicit value, with the SSM parameter's name.
    ssm: BTreeMap<String, String>,
    /// The template's parameters (known or not).
    declared: BTreeSet<String>,
    mappings: Map<String, Value>,
    conditions: Map<String, Value>,
    frontend: Frontend,
}

/// The SSM parameter types' prefix.
const SSM_TYPE: &str = "AWS::SSM::Parameter::Value<";

/// Why a value is unknown: its inputs kiltx does not know.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Missing {
    /// A template parameter without a value.
    Parameter(String),
    /// An SSM-typed parameter (with the SSM parameter's name).
    Ssm(String, String),
    /// A pseudo parameter (`AWS::Region`, `AWS::AccountId`, ...).
    Pseudo(String),
    /// A resource's attribute or reference, known only once the stack is deployed.
    Resource(String),
    /// Something else: an intrinsic kiltx does not evaluate, a condition it cannot decide, or
    /// a malformed expression (described).
    Other(String),
}

impl Known {
    /// What a template's `sections` and the run's options give.
    pub fn new(sections: Sections<'_>, opts: &Options) -> Known {
        let mut k = Known {
            frontend: opts.frontend,
            ..Known::default()
        };
        if let Some(Value::Object(params)) = sections.parameters {
            for (name, p) in params {
                k.declared.insert(name.clone());
                let ty = p.get("Type").and_then(Value::as_str).unwrap_or_default();
                if ty.starts_with("CommaDelimitedList")
                    || ty.starts_with("List<")
                    || ty.starts_with("AWS::SSM::Parameter::Value<List<")
                    || ty.starts_with("AWS::SSM::Parameter::Value<CommaDelimitedList")
                {
                    k.lists.insert(name.clone());
                }
                let default = p.get("Default").and_then(parameter_text);
                if ty.starts_with(SSM_TYPE) {
                    k.ssm.insert(name.clone(), default.unwrap_or_default());
                } else if let Some(d) = default {
                    k.values.insert(name.clone(), d);
                }
            }
        }
        for (name, v) in &opts.parameters {
            k.ssm.remove(name);
            k.values.insert(name.clone(), v.clone());
        }
        if let Some(region) = k.values.get("AWS::Region").cloned() {
            let (partition, suffix) = partition_of(&region);
            k.values
                .entry("AWS::Partition".into())
                .or_insert_with(|| partition.into());
            k.values
                .entry("AWS::URLSuffix".into())
                .or_insert_with(|| suffix.into());
        }
        if let Some(Value::Object(m)) = sections.mappings {
            k.mappings = m.clone();
        }
        if let Some(Value::Object(c)) = sections.conditions {
            k.conditions = c.clone();
        }
        k
    }

    /// Only parameter values (no template): what a lone task definition is evaluated with.
    pub fn from_parameters(values: BTreeMap<String, String>) -> Known {
        let opts = Options {
            parameters: values,
            ..Options::default()
        };
        Known::new(Sections::default(), &opts)
    }

    /// The value of `v` when every input is known.
    pub fn eval(&self, v: &Value) -> Option<Value> {
        self.eval_at(v, 0).ok()
    }

    /// A scalar's text (a string, number or boolean, literal or evaluated).
    pub fn scalar(&self, v: &Value) -> Option<String> {
        match self.eval(v)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Why `v` is unknown (empty when it is known): the first input missing.
    pub fn missing(&self, v: &Value) -> Option<Missing> {
        self.eval_at(v, 0).err()
    }

    /// What to tell a user whose value `v` is unknown: why, and what to do (a fix that works
    /// where the engine runs).
    pub fn explain(&self, v: &Value) -> (String, String) {
        if self.frontend == Frontend::Macro {
            return self.explain_macro(v);
        }
        match self.missing(v) {
            None => ("it is known".into(), String::new()),
            Some(Missing::Parameter(p)) => (
                format!("it depends on parameter {p}, which has no value here"),
                format!("give it one: --parameter {p}=VALUE"),
            ),
            Some(Missing::Ssm(p, key)) => (
                format!(
                    "it depends on parameter {p}, of an SSM parameter type: its value is that of the SSM parameter {key:?} in the account, which kiltx cannot read"
                ),
                format!(
                    "give the value with --parameter {p}=VALUE (e.g. from `aws ssm get-parameter --name {key}`), or set the container's entryPoint and command"
                ),
            ),
            Some(Missing::Pseudo(p)) => (
                format!("it depends on the pseudo parameter {p}, which is not given"),
                format!("give it: --parameter {p}=VALUE"),
            ),
            Some(Missing::Resource(r)) => (
                format!("it depends on {r}, which exists only once the stack is deployed"),
                "set the container's entryPoint and command, or describe its image with --image-config".into(),
            ),
            Some(Missing::Other(what)) => (
                format!("kiltx cannot evaluate it: {what}"),
                "write the value literally, or set the container's entryPoint and command".into(),
            ),
        }
    }

    /// [`Known::explain`] in the macro, which is given every parameter's value, the region and
    /// the account, but not SSM parameters' values.
    fn explain_macro(&self, v: &Value) -> (String, String) {
        let literal = "set the container's entryPoint and command in the template (kiltx then needs no image configuration), or write the value literally".to_string();
        match self.missing(v) {
            None => ("it is known".into(), String::new()),
            Some(Missing::Ssm(p, key)) => (
                format!(
                    "it depends on parameter {p}, of an SSM parameter type: its value is that of the SSM parameter {key:?}, which CloudFormation resolves only after the macro has run"
                ),
                literal,
            ),
            Some(Missing::Parameter(p)) => (
                format!("it depends on parameter {p}, whose value the request does not give"),
                format!("give {p} a value when creating or updating the stack; or {literal}"),
            ),
            Some(Missing::Pseudo(p)) => (
                format!("it depends on the pseudo parameter {p}, which a macro is not given"),
                literal,
            ),
            Some(Missing::Resource(r)) => (
                format!("it depends on {r}, which exists only once the stack is deployed"),
                literal,
            ),
            Some(Missing::Other(what)) => (format!("kiltx cannot evaluate it: {what}"), literal),
        }
    }

    fn eval_at(&self, v: &Value, depth: usize) -> Result<Value, Missing> {
        if depth > MAX_DEPTH {
            return Err(Missing::Other(
                "intrinsic functions nested too deeply".into(),
            ));
        }
        let Some(name) = intrinsic::name(v) else {
            return match v {
                Value::Array(items) => items
                    .iter()
                    .map(|x| self.eval_at(x, depth + 1))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                Value::Object(m) => m
                    .iter()
                    .map(|(k, x)| Ok((k.clone(), self.eval_at(x, depth + 1)?)))
                    .collect::<Result<Map<_, _>, _>>()
                    .map(Value::Object),
                other => Ok(other.clone()),
            };
        };
        let arg = intrinsic::argument(v).unwrap_or(&Value::Null);
        let bad = |what: &str| Missing::Other(format!("{name} {what}"));
        match name.as_str() {
            "Ref" => {
                let r = arg.as_str().ok_or_else(|| bad("needs a name"))?;
                self.reference(r)
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().ok_or_else(|| bad("needs a string"))?,
                        Some(
                            a[1].as_object()
                                .ok_or_else(|| bad("needs a map of variables"))?,
                        ),
                    ),
                    _ => return Err(bad("needs a string, or a string and a map")),
                };
                self.sub(text, vars, depth).map(Value::String)
            }
            "Fn::Join" => {
                let [sep, list] = pair(arg).ok_or_else(|| bad("needs a separator and a list"))?;
                let sep = self.text(sep, depth)?;
                let list = self.list(list, depth)?;
                let parts = list
                    .iter()
                    .map(|x| text_of(x).ok_or_else(|| bad("joins a value that is not a string")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::String(parts.join(&sep)))
            }
            "Fn::Select" => {
                let [index, list] = pair(arg).ok_or_else(|| bad("needs an index and a list"))?;
                let index: usize = self
                    .text(index, depth)?
                    .trim()
                    .parse()
                    .map_err(|_| bad("needs a number as its index"))?;
                let list = self.list(list, depth)?;
                list.into_iter()
                    .nth(index)
                    .ok_or_else(|| bad("selects past the end of its list"))
            }
            "Fn::Split" => {
                let [sep, s] = pair(arg).ok_or_else(|| bad("needs a separator and a string"))?;
                let sep = self.text(sep, depth)?;
                if sep.is_empty() {
                    return Err(bad("needs a non-empty separator"));
                }
                let s = self.text(s, depth)?;
                Ok(Value::Array(
                    s.split(sep.as_str())
                        .map(|p| Value::String(p.into()))
                        .collect(),
                ))
            }
            "Fn::FindInMap" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| bad("needs a map name and two keys"))?;
                let map = self.text(&a[0], depth)?;
                let top = self.text(&a[1], depth)?;
                let second = self.text(&a[2], depth)?;
                let found = self
                    .mappings
                    .get(&map)
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second))
                    .ok_or_else(|| {
                        Missing::Other(format!("mapping {map} has no entry {top}/{second}"))
                    })?;
                self.eval_at(found, depth + 1)
            }
            "Fn::If" => {
                let a = arg
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .ok_or_else(|| bad("needs a condition and two values"))?;
                let cond = a[0].as_str().ok_or_else(|| bad("needs a condition name"))?;
                let branch = if self.condition(cond, depth + 1)? {
                    &a[1]
                } else {
                    &a[2]
                };
                self.eval_at(branch, depth + 1)
            }
            "Fn::GetAtt" => Err(Missing::Resource(format!(
                "an attribute of resource {}",
                match arg {
                    Value::Array(a) => a.first().and_then(Value::as_str).unwrap_or("?").to_string(),
                    Value::String(s) => s.split('.').next().unwrap_or("?").to_string(),
                    _ => "?".into(),
                }
            ))),
            "Fn::ImportValue" => Err(Missing::Resource(
                "a value exported by another stack".into(),
            )),
            other => Err(Missing::Other(format!("{other} is not evaluated"))),
        }
    }

    /// `Ref` to a parameter, pseudo parameter or resource.
    fn reference(&self, r: &str) -> Result<Value, Missing> {
        if let Some(v) = self.values.get(r) {
            return Ok(if self.lists.contains(r) {
                Value::Array(v.split(',').map(|s| Value::String(s.into())).collect())
            } else {
                Value::String(v.clone())
            });
        }
        if let Some(key) = self.ssm.get(r) {
            return Err(Missing::Ssm(r.into(), key.clone()));
        }
        if r.starts_with("AWS::") {
            return Err(Missing::Pseudo(r.into()));
        }
        if self.declared.contains(r) {
            return Err(Missing::Parameter(r.into()));
        }
        Err(Missing::Resource(format!("resource {r}")))
    }

    /// `Fn::Sub`'s text with `${Name}`s replaced (`${!Literal}` is a literal `${Literal}`).
    fn sub(
        &self,
        s: &str,
        vars: Option<&Map<String, Value>>,
        depth: usize,
    ) -> Result<String, Missing> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| Missing::Other("Fn::Sub has an unclosed ${".into()))?;
            if let Some(lit) = after[..end].strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else {
                let name = after[..end].trim();
                let value = match vars.and_then(|m| m.get(name)) {
                    Some(v) => self.text(v, depth)?,
                    None if name.contains('.') => {
                        return Err(Missing::Resource(format!(
                            "an attribute of resource {}",
                            name.split('.').next().unwrap_or(name)
                        )))
                    }
                    None => match self.reference(name)? {
                        Value::Array(a) => {
                            a.iter().filter_map(text_of).collect::<Vec<_>>().join(",")
                        }
                        v => text_of(&v).unwrap_or_default(),
                    },
                };
                out.push_str(&value);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn text(&self, v: &Value, depth: usize) -> Result<String, Missing> {
        let e = self.eval_at(v, depth + 1)?;
        text_of(&e).ok_or_else(|| Missing::Other("a string was expected".into()))
    }

    fn list(&self, v: &Value, depth: usize) -> Result<Vec<Value>, Missing> {
        match self.eval_at(v, depth + 1)? {
            Value::Array(a) => Ok(a),
            _ => Err(Missing::Other("a list was expected".into())),
        }
    }

    /// The truth of the template's condition `name`.
    fn condition(&self, name: &str, depth: usize) -> Result<bool, Missing> {
        if depth > MAX_DEPTH {
            return Err(Missing::Other("conditions nested too deeply".into()));
        }
        let c = self
            .conditions
            .get(name)
            .ok_or_else(|| Missing::Other(format!("the template has no condition {name}")))?;
        self.truth(c, depth + 1)
    }

    fn truth(&self, c: &Value, depth: usize) -> Result<bool, Missing> {
        if depth > MAX_DEPTH {
            return Err(Missing::Other("conditions nested too deeply".into()));
        }
        let name = intrinsic::name(c);
        let arg = intrinsic::argument(c).unwrap_or(&Value::Null);
        let items = || {
            arg.as_array().ok_or_else(|| {
                Missing::Other(format!("{} needs a list", name.as_deref().unwrap_or("?")))
            })
        };
        match name.as_deref() {
            Some("Condition") => {
                let n = arg
                    .as_str()
                    .ok_or_else(|| Missing::Other("Condition needs a name".into()))?;
                self.condition(n, depth + 1)
            }
            Some("Fn::Equals") => {
                let [a, b] = pair(arg)
                    .ok_or_else(|| Missing::Other("Fn::Equals needs two values".into()))?;
                let a = self.eval_at(a, depth + 1)?;
                let b = self.eval_at(b, depth + 1)?;
                Ok(match (text_of(&a), text_of(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            Some("Fn::Not") => {
                let [x] = items()?.as_slice() else {
                    return Err(Missing::Other("Fn::Not needs one condition".into()));
                };
                Ok(!self.truth(x, depth + 1)?)
            }
            Some("Fn::And") => {
                let mut all = true;
                for x in items()? {
                    all &= self.truth(x, depth + 1)?;
                }
                Ok(all)
            }
            Some("Fn::Or") => {
                let mut any = false;
                for x in items()? {
                    any |= self.truth(x, depth + 1)?;
                }
                Ok(any)
            }
            _ => match self.eval_at(c, depth + 1)? {
                Value::Bool(b) => Ok(b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err(Missing::Other(
                    "a condition is not a condition function".into(),
                )),
            },
        }
    }
}

/// A parameter value as CloudFormation gives it in text: a string, number or boolean as
/// written, a list joined with commas (as a `CommaDelimitedList`); `None` for anything else.
/// What a `Default` and a macro's `templateParameterValues` are both read with.
pub fn parameter_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

/// A scalar's text.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The two items of a two-item list.
fn pair(v: &Value) -> Option<[&Value; 2]> {
    match v.as_array()?.as_slice() {
        [a, b] => Some([a, b]),
        _ => None,
    }
}

/// `AWS::Partition` and `AWS::URLSuffix` for a region.
fn partition_of(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("cn-") {
        ("aws-cn", "amazonaws.com.cn")
    } else if region.starts_with("us-gov-") {
        ("aws-us-gov", "amazonaws.com")
    } else if region.starts_with("us-iso-") {
        ("aws-iso", "c2s.ic.gov")
    } else if region.starts_with("us-isob-") {
        ("aws-iso-b", "sc2s.sgov.gov")
    } else {
        ("aws", "amazonaws.com")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known(template: Value, params: &[(&str, &str)]) -> Known {
        let opts = Options {
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Options::default()
        };
        Known::new(Sections::of(&template), &opts)
    }

    #[test]
    fn refs_subs_and_defaults() {
        let k = known(
            json!({"Parameters": {
                "Tag": {"Type": "String", "Default": "1.27"},
                "Cpu": {"Type": "Number", "Default": 256},
                "Envs": {"Type": "CommaDelimitedList", "Default": "dev,prod"},
                "NoDefault": {"Type": "String"}
            }}),
            &[("Tag", "1.28")],
        );
        assert_eq!(k.scalar(&json!({"Ref": "Tag"})).as_deref(), Some("1.28"));
        assert_eq!(k.scalar(&json!({"Ref": "Cpu"})).as_deref(), Some("256"));
        assert_eq!(
            k.scalar(&json!({"Fn::Sub": "nginx:${Tag}-${!Literal}"}))
                .as_deref(),
            Some("nginx:1.28-${Literal}")
        );
        assert_eq!(
            k.scalar(&json!({"Fn::Sub": ["${Repo}:${Tag}", {"Repo": {"Ref": "Tag"}}]}))
                .as_deref(),
            Some("1.28:1.28")
        );
        assert_eq!(
            k.scalar(&json!({"Fn::Select": [1, {"Ref": "Envs"}]}))
                .as_deref(),
            Some("prod")
        );
        assert_eq!(
            k.missing(&json!({"Ref": "NoDefault"})),
            Some(Missing::Parameter("NoDefault".into()))
        );
        assert_eq!(
            k.missing(&json!({"Fn::GetAtt": ["Repo", "Uri"]})),
            Some(Missing::Resource("an attribute of resource Repo".into()))
        );
        assert_eq!(
            k.missing(&json!({"Fn::Sub": "${Repo.Uri}:1"})),
            Some(Missing::Resource("an attribute of resource Repo".into()))
        );
        assert_eq!(
            k.missing(&json!({"!Ref": "Bucket"})),
            Some(Missing::Resource("resource Bucket".into()))
        );
    }

    #[test]
    fn ssm_parameters_are_names_not_values() {
        let t = json!({"Parameters": {"Img": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/aws/service/aws-for-fluent-bit/latest"
        }}});
        let k = known(t.clone(), &[]);
        assert_eq!(k.scalar(&json!({"Ref": "Img"})), None);
        let (why, fix) = k.explain(&json!({"Ref": "Img"}));
        assert!(
            why.contains("SSM parameter \"/aws/service/aws-for-fluent-bit/latest\""),
            "{why}"
        );
        assert!(fix.contains("--parameter Img=VALUE"), "{fix}");
        let k = known(t, &[("Img", "amazon/aws-for-fluent-bit:2.32.0")]);
        assert_eq!(
            k.scalar(&json!({"Ref": "Img"})).as_deref(),
            Some("amazon/aws-for-fluent-bit:2.32.0")
        );
    }

    #[test]
    fn pseudo_parameters_mappings_joins() {
        let t = json!({"Mappings": {"envoy": {
            "eu-west-1": {"repo": "840364872350"},
            "cn-north-1": {"repo": "919366029133"}
        }}});
        let image = json!({"Fn::Join": ["", [
            {"Fn::FindInMap": ["envoy", {"Ref": "AWS::Region"}, "repo"]},
            ".dkr.ecr.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"},
            "/aws-appmesh-envoy:v1.15.1.0-prod"]]});
        let k = known(t.clone(), &[]);
        assert_eq!(
            k.missing(&image),
            Some(Missing::Pseudo("AWS::Region".into()))
        );
        let k = known(t.clone(), &[("AWS::Region", "eu-west-1")]);
        assert_eq!(
            k.scalar(&image).as_deref(),
            Some("840364872350.dkr.ecr.eu-west-1.amazonaws.com/aws-appmesh-envoy:v1.15.1.0-prod")
        );
        let k = known(t.clone(), &[("AWS::Region", "cn-north-1")]);
        assert_eq!(
            k.scalar(&image).as_deref(),
            Some(
                "919366029133.dkr.ecr.cn-north-1.amazonaws.com.cn/aws-appmesh-envoy:v1.15.1.0-prod"
            )
        );
        let k = known(t, &[("AWS::Region", "us-east-2")]);
        assert!(matches!(k.missing(&image), Some(Missing::Other(m)) if m.contains("us-east-2")));
    }

    #[test]
    fn conditions_choose_branches() {
        let t = json!({
            "Parameters": {"Env": {"Type": "String", "Default": "dev"}, "Other": {"Type": "String"}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
                "Both": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Equals": ["a", "a"]}]},
                "Unknown": {"Fn::Equals": [{"Ref": "Other"}, "x"]},
                "Loop": {"Condition": "Loop"}
            }
        });
        let img = |c: &str| json!({"Fn::If": [c, "prod:1", "dev:1"]});
        let k = known(t.clone(), &[]);
        assert_eq!(k.scalar(&img("IsProd")).as_deref(), Some("dev:1"));
        assert_eq!(k.scalar(&img("Both")).as_deref(), Some("prod:1"));
        assert_eq!(
            k.missing(&img("Unknown")),
            Some(Missing::Parameter("Other".into()))
        );
        assert!(
            k.missing(&img("Loop")).is_some(),
            "a cycle is unknown, not a hang"
        );
        let k = known(t, &[("Env", "prod")]);
        assert_eq!(k.scalar(&img("IsProd")).as_deref(), Some("prod:1"));
        // Short forms (YAML tags) evaluate the same.
        assert_eq!(
            k.scalar(&json!({"!If": ["NotProd", "a", {"!Sub": "b-${Env}"}]}))
                .as_deref(),
            Some("b-prod")
        );
    }

    #[test]
    fn depth_is_bounded() {
        let mut v = json!({"Ref": "X"});
        for _ in 0..200 {
            v = json!({"Fn::Join": ["", [v]]});
        }
        let k = known(
            json!({"Parameters": {"X": {"Type": "String", "Default": "x"}}}),
            &[],
        );
        assert!(matches!(k.missing(&v), Some(Missing::Other(m)) if m.contains("deeply")));
    }
}
