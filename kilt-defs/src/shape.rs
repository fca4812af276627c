//! The shapes task definitions are kept in, and how to find the task definitions in each.

use serde_json::{Map, Value};

use crate::error::{Error, Path};
use crate::source::PathStep;

/// The shape of an input document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A CloudFormation template (JSON or YAML).
    CloudFormation,
    /// `aws ecs register-task-definition --cli-input-json` input (camelCase).
    Register,
    /// `aws ecs describe-task-definition` output; patched into register input.
    Describe,
    /// A bare `containerDefinitions` array (Terraform's `container_definitions`).
    Containers,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::CloudFormation => "cloudformation",
            Shape::Register => "register",
            Shape::Describe => "describe",
            Shape::Containers => "containers",
        }
    }

    pub fn from_name(name: &str) -> Option<Shape> {
        Some(match name {
            "cloudformation" | "cfn" => Shape::CloudFormation,
            "register" => Shape::Register,
            "describe" => Shape::Describe,
            "containers" => Shape::Containers,
            _ => return None,
        })
    }

    /// Tell the shape from the document's top level.
    pub fn detect(v: &Value) -> Result<Shape, Error> {
        match v {
            Value::Array(_) => Ok(Shape::Containers),
            Value::Object(m) => {
                if m.contains_key("Resources") || m.contains_key("AWSTemplateFormatVersion") {
                    Ok(Shape::CloudFormation)
                } else if m.contains_key("taskDefinition") {
                    Ok(Shape::Describe)
                } else if m.contains_key("containerDefinitions") || m.contains_key("family") {
                    Ok(Shape::Register)
                } else {
                    Err(unknown_shape())
                }
            }
            _ => Err(unknown_shape()),
        }
    }
}

fn unknown_shape() -> Error {
    Error::invalid_hint(
        vec![],
        "cannot tell what kind of document this is: expected a CloudFormation template (with Resources), register-task-definition JSON (with containerDefinitions), describe-task-definition output (with taskDefinition) or a containerDefinitions array",
        "pass --input-format cloudformation|register|describe|containers to say which",
    )
}

/// `path` holds `found` where `what` belongs.
fn expected(path: Path, what: &str, found: &Value) -> Error {
    Error::invalid(
        path,
        format!(
            "expected {what}, found {}",
            crate::intrinsic::describe(found)
        ),
    )
}

/// How keys are spelled in this part of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// CloudFormation: `ContainerDefinitions`, `EntryPoint`, ...
    Pascal,
    /// The ECS API: `containerDefinitions`, `entryPoint`, ...
    Camel,
}

impl Dialect {
    /// Spell an ECS key (given in camelCase) in this dialect.
    pub fn key(self, camel: &str) -> String {
        match self {
            Dialect::Camel => camel.to_string(),
            Dialect::Pascal => {
                let mut c = camel.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            }
        }
    }
}

/// Where a task definition lives in the document.
#[derive(Debug, Clone)]
pub struct Site {
    /// Path to the task definition's properties object (or, for [`Shape::Containers`], to the
    /// containers array itself).
    pub path: Path,
    /// How people call it: the CloudFormation logical ID, or "task definition".
    pub label: String,
    pub dialect: Dialect,
    pub shape: Shape,
}

/// Find the task definitions in a document of the given shape.
pub fn sites(v: &Value, shape: Shape) -> Result<Vec<Site>, Error> {
    match shape {
        Shape::CloudFormation => {
            let Value::Object(root) = v else {
                return Err(Error::invalid(
                    vec![],
                    "expected a CloudFormation template (an object)",
                ));
            };
            let Some(resources) = root.get("Resources") else {
                return Ok(vec![]);
            };
            let res_path = vec![PathStep::Key("Resources".into())];
            let Value::Object(resources) = resources else {
                return Err(expected(res_path, "an object", resources));
            };
            let mut out = Vec::new();
            for (id, r) in resources {
                let mut path = res_path.clone();
                path.push(PathStep::Key(id.clone()));
                let Value::Object(r) = r else {
                    return Err(expected(path, "a resource (an object)", r));
                };
                if r.get("Type").and_then(Value::as_str) != Some("AWS::ECS::TaskDefinition") {
                    continue;
                }
                path.push(PathStep::Key("Properties".into()));
                match r.get("Properties") {
                    Some(Value::Object(_)) => {}
                    Some(other) => return Err(expected(path, "an object", other)),
                    None => {
                        return Err(Error::invalid_hint(
                            path,
                            "the task definition has no Properties",
                            "give it ContainerDefinitions",
                        ))
                    }
                }
                out.push(Site {
                    path,
                    label: id.clone(),
                    dialect: Dialect::Pascal,
                    shape,
                });
            }
            Ok(out)
        }
        Shape::Register | Shape::Describe => {
            if !v.is_object() {
                return Err(Error::invalid(
                    vec![],
                    "expected a task definition (an object)",
                ));
            }
            Ok(vec![Site {
                path: vec![],
                label: "task definition".into(),
                dialect: Dialect::Camel,
                shape,
            }])
        }
        Shape::Containers => {
            if !v.is_array() {
                return Err(Error::invalid(
                    vec![],
                    "expected a containerDefinitions array",
                ));
            }
            Ok(vec![Site {
                path: vec![],
                label: "containerDefinitions".into(),
                dialect: Dialect::Camel,
                shape,
            }])
        }
    }
}

/// Fields of describe-task-definition output that register-task-definition does not accept.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// Turn describe-task-definition output into register-task-definition input: unwrap
/// `taskDefinition`, treat `null` as absent, drop read-only fields, keep the `tags`.
pub fn describe_to_register(v: &Value) -> Result<Value, Error> {
    let path = vec![PathStep::Key("taskDefinition".into())];
    let td = match v.get("taskDefinition") {
        Some(Value::Object(m)) => m,
        Some(other) => return Err(expected(path, "an object", other)),
        None => {
            return Err(Error::invalid(
                vec![],
                "expected describe-task-definition output with a taskDefinition",
            ))
        }
    };
    let mut out = Map::new();
    for (k, val) in td {
        if READ_ONLY_FIELDS.contains(&k.as_str()) || val.is_null() {
            continue;
        }
        out.insert(k.clone(), strip_nulls(val));
    }
    match v.get("tags") {
        Some(Value::Array(tags)) if !tags.is_empty() => {
            out.insert("tags".into(), strip_nulls(&Value::Array(tags.clone())));
        }
        _ => {}
    }
    Ok(Value::Object(out))
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}
