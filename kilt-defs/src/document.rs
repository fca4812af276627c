//! Patching a whole document, text in, text out: the path every caller (CLI, Lambda,
//! benchmarks, fuzzing) takes.
//!
//! JSON is patched one task definition at a time: the text is validated without building
//! anything, indexed shallowly, and only each task definition's properties are parsed, patched,
//! re-emitted and spliced back into the original text. Memory stays near the size of the text,
//! and everything outside the task definitions is copied byte for byte. YAML, and
//! describe-task-definition output (which is rewritten whole), go through the value model.

use serde_json::Value;

use crate::definition::Definition;
use crate::error::Error;
use crate::image::ImageConfigs;
use crate::patch::{self, Mode, NeededImage, Options, Patcher, Report};
use crate::shape::{Dialect, Shape, Site};
use crate::source::{line_col, Node, NodeKind, PathStep};

/// The result of patching a document.
#[derive(Debug)]
pub struct Patched {
    /// The patched document, in the input's format and layout.
    pub text: String,
    pub report: Report,
    pub shape: Shape,
}

/// Patch the document `text`. `shape` forces the input's shape; `None` detects it.
pub fn patch_document(
    text: &str,
    shape: Option<Shape>,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
) -> Result<Patched, Error> {
    run(text, shape, &Patcher::new(def, opts, images, Mode::Plain))
}

/// The images whose ENTRYPOINT/CMD patching `text` needs and `images` does not have, once each
/// per (image, platform), in document order. Errors are those patching would report otherwise.
pub fn needed_images(
    text: &str,
    shape: Option<Shape>,
    def: &Definition,
    opts: &Options,
    images: &ImageConfigs,
) -> Result<Vec<NeededImage>, Error> {
    let patcher = Patcher::new(def, opts, images, Mode::Recording);
    run(text, shape, &patcher)?;
    Ok(patcher.into_needs())
}

fn run(text: &str, shape: Option<Shape>, patcher: &Patcher) -> Result<Patched, Error> {
    // A byte-order mark is kept, and otherwise out of the way.
    if let Some(body) = text.strip_prefix('\u{feff}') {
        let mut patched = run(body, shape, patcher)?;
        patched.text.insert(0, '\u{feff}');
        return Ok(patched);
    }
    match text.trim_start().chars().next() {
        Some('{') | Some('[') => {
            crate::json::validate(text)?;
            let root = crate::json::shallow_tree(text, 3)?;
            let shape = match shape {
                Some(s) => s,
                None => detect(text, &root)?,
            };
            if shape == Shape::Describe {
                return whole(text, Some(shape), patcher);
            }
            patch_json(text, &root, shape, patcher)
        }
        Some(_) => whole(text, shape, patcher),
        None => Err(Error::invalid(vec![], "the document is empty")),
    }
}

/// Through the value model: parse all, patch, emit.
fn whole(text: &str, shape: Option<Shape>, patcher: &Patcher) -> Result<Patched, Error> {
    let doc = crate::parse_document(text)?;
    let shape = match shape {
        Some(s) => s,
        None => Shape::detect(&doc.value)?,
    };
    let mut value = doc.value.clone();
    let report = patcher
        .patch(&mut value, shape)
        .map_err(|e| e.locate(&doc))?;
    let text = if shape == Shape::Describe {
        crate::json::to_string_styled(&value, &crate::json::Style::detect(text))
    } else {
        crate::emit_document(&doc, &value)
    };
    Ok(Patched {
        text,
        report,
        shape,
    })
}

fn members(node: &Node) -> &[crate::source::Member] {
    match &node.kind {
        NodeKind::Map(m) => m,
        _ => &[],
    }
}

fn member<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    members(node)
        .iter()
        .find(|m| m.key == key)
        .map(|m| &m.value)
}

fn detect(text: &str, root: &Node) -> Result<Shape, Error> {
    // Shape::detect only looks at the top-level keys.
    let probe = match &root.kind {
        NodeKind::Seq(_) => Value::Array(vec![]),
        NodeKind::Map(m) => Value::Object(m.iter().map(|m| (m.key.clone(), Value::Null)).collect()),
        NodeKind::Scalar => serde_json::from_str(&text[root.span.clone()]).unwrap_or(Value::Null),
    };
    Shape::detect(&probe)
}

fn kind_name(text: &str, node: &Node) -> String {
    match &node.kind {
        NodeKind::Map(_) => "an object".into(),
        NodeKind::Seq(_) => "a list".into(),
        NodeKind::Scalar => serde_json::from_str::<Value>(&text[node.span.clone()])
            .map(|v| crate::intrinsic::describe(&v))
            .unwrap_or_else(|_| "an object".into()),
    }
}

/// The task definitions of a JSON document, with the spans of their values.
fn json_sites(
    text: &str,
    root: &Node,
    shape: Shape,
) -> Result<Vec<(Site, std::ops::Range<usize>)>, Error> {
    let locate = |e: Error, node: &Node| {
        let at = line_col(text, node.span.start);
        e.locate_with(&|_| Some(at))
    };
    match shape {
        Shape::CloudFormation => {
            if !matches!(root.kind, NodeKind::Map(_)) {
                return Err(Error::invalid(
                    vec![],
                    "expected a CloudFormation template (an object)",
                ));
            }
            let Some(resources) = member(root, "Resources") else {
                return Ok(vec![]);
            };
            let rpath = vec![PathStep::Key("Resources".into())];
            if !matches!(resources.kind, NodeKind::Map(_)) {
                let e = Error::invalid(
                    rpath,
                    format!("expected an object, found {}", kind_name(text, resources)),
                );
                return Err(locate(e, resources));
            }
            let mut out = Vec::new();
            for r in members(resources) {
                let mut path = rpath.clone();
                path.push(PathStep::Key(r.key.clone()));
                if !matches!(r.value.kind, NodeKind::Map(_)) {
                    let e = Error::invalid(
                        path,
                        format!(
                            "expected a resource (an object), found {}",
                            kind_name(text, &r.value)
                        ),
                    );
                    return Err(locate(e, &r.value));
                }
                let is_task = member(&r.value, "Type").is_some_and(|t| {
                    serde_json::from_str::<Value>(&text[t.span.clone()])
                        .is_ok_and(|v| v.as_str() == Some("AWS::ECS::TaskDefinition"))
                });
                if !is_task {
                    continue;
                }
                path.push(PathStep::Key("Properties".into()));
                match member(&r.value, "Properties") {
                    Some(p) if text[p.span.clone()].starts_with('{') => {
                        out.push((
                            Site {
                                path,
                                label: r.key.clone(),
                                dialect: Dialect::Pascal,
                                shape,
                            },
                            p.span.clone(),
                        ));
                    }
                    Some(p) => {
                        let e = Error::invalid(
                            path,
                            format!("expected an object, found {}", kind_name(text, p)),
                        );
                        return Err(locate(e, p));
                    }
                    None => {
                        let e = Error::invalid_hint(
                            path,
                            "the task definition has no Properties",
                            "give it ContainerDefinitions",
                        );
                        return Err(locate(e, &r.value));
                    }
                }
            }
            Ok(out)
        }
        Shape::Register | Shape::Describe | Shape::Containers => {
            let (ok, label, what) = match shape {
                Shape::Containers => (
                    matches!(root.kind, NodeKind::Seq(_)),
                    "containerDefinitions",
                    "a containerDefinitions array",
                ),
                _ => (
                    matches!(root.kind, NodeKind::Map(_)),
                    "task definition",
                    "a task definition (an object)",
                ),
            };
            if !ok {
                return Err(Error::invalid(vec![], format!("expected {what}")));
            }
            Ok(vec![(
                Site {
                    path: vec![],
                    label: label.into(),
                    dialect: Dialect::Camel,
                    shape,
                },
                root.span.clone(),
            )])
        }
    }
}

fn patch_json(text: &str, root: &Node, shape: Shape, patcher: &Patcher) -> Result<Patched, Error> {
    let sites = json_sites(text, root, shape)?;
    // The sections values are evaluated with (only these are read whole).
    let section = |name: &str| match (shape, member(root, name)) {
        (Shape::CloudFormation, Some(p)) => {
            serde_json::from_str::<Value>(&text[p.span.clone()]).ok()
        }
        _ => None,
    };
    let (parameters, mappings, conditions) = (
        section("Parameters"),
        section("Mappings"),
        section("Conditions"),
    );
    let params = patch::Known::new(
        patch::Sections {
            parameters: parameters.as_ref(),
            mappings: mappings.as_ref(),
            conditions: conditions.as_ref(),
        },
        patcher.options(),
    );
    let mut report = Report::default();
    let mut errors = Vec::new();
    let style = crate::json::Style::detect(text);
    let lines = std::cell::OnceCell::new();
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (site, span) in &sites {
        let (old, tree) = crate::json::parse_at(text, span.clone())?;
        let mut new = old.clone();
        match patcher.patch_site(&mut new, site, &params) {
            Ok(outcome) => {
                report.tasks.push(outcome);
                // A recording run's output is discarded.
                if patcher.mode() == Mode::Plain && new != old {
                    let mut out = String::with_capacity(span.len() + 2048);
                    crate::json::emit_subtree(text, &style, &tree, &old, &new, &mut out);
                    replacements.push((span.clone(), out));
                }
            }
            Err(e) => {
                let prefix = site.path.len();
                errors.push(e.locate_with(&|p: &[PathStep]| {
                    let rel = p.get(prefix..).unwrap_or(&[]);
                    let lines = lines.get_or_init(|| crate::source::LineIndex::new(text));
                    Some(lines.line_col(tree.find(rel).span.start))
                }));
            }
        }
    }
    Error::from_many(errors)?;
    let extra: usize = replacements
        .iter()
        .map(|(s, r)| r.len().saturating_sub(s.len()))
        .sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut last = 0;
    for (span, rep) in &replacements {
        out.push_str(&text[last..span.start]);
        out.push_str(rep);
        last = span.end;
    }
    out.push_str(&text[last..]);
    Ok(Patched {
        text: out,
        report,
        shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_images_are_listed_once_per_platform_in_order() {
        let text = r#"{"Parameters": {"Img": {"Type": "String", "Default": "reg.example/b:2"}},
          "Resources": {
            "X": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"RequiresCompatibilities": ["FARGATE"],
              "ContainerDefinitions": [{"Name": "a", "Image": "reg.example/a:1"}, {"Name": "w", "Image": "w", "EntryPoint": ["/w"]},
                                       {"Name": "b", "Image": {"Ref": "Img"}}, {"Name": "a2", "Image": "reg.example/a:1", "Command": ["x"]}]}},
            "Y": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"RequiresCompatibilities": ["FARGATE"],
              "RuntimePlatform": {"CpuArchitecture": "ARM64"},
              "ContainerDefinitions": [{"Name": "a", "Image": "reg.example/a:1"}]}}}}"#;
        // A definition whose sidecar runs on both architectures (the built-in one declares its
        // own; see patch's tests for tasks it is not built for).
        let mut def = Definition::builtin();
        def.sidecars
            .iter_mut()
            .for_each(|s| s.architectures.clear());
        let opts = Options::default();
        let needs = needed_images(text, None, &def, &opts, &ImageConfigs::new()).unwrap();
        let got: Vec<(&str, &str)> = needs
            .iter()
            .map(|n| (n.image.as_str(), n.platform.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("reg.example/a:1", "linux/amd64"),
                ("reg.example/b:2", "linux/amd64"),
                ("reg.example/a:1", "linux/arm64")
            ]
        );
        assert_eq!(needs[0].container, "\"a\" in X");
        // With the answers, nothing is needed and the patch succeeds.
        let mut images = ImageConfigs::new();
        images.insert(
            "reg.example/a:1",
            crate::image::ImageConfig {
                entrypoint: Some(vec!["/a".into()]),
                cmd: None,
            },
        );
        images.insert_for(
            "reg.example/b:2",
            "linux/amd64",
            crate::image::ImageConfig {
                entrypoint: None,
                cmd: Some(vec!["b".into()]),
            },
        );
        assert!(needed_images(text, None, &def, &opts, &images)
            .unwrap()
            .is_empty());
        let out = patch_document(text, None, &def, &opts, &images).unwrap();
        assert!(
            out.text.contains(r#""Command": ["b"]"#) || out.text.contains("\"b\"\n"),
            "{}",
            out.text
        );
        // An architecture kiltx cannot know is an error only where a lookup is needed.
        let bad = text.replace(r#""ARM64""#, r#"{"Ref": "Arch"}"#);
        let e = needed_images(&bad, None, &def, &opts, &ImageConfigs::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("CPU architecture"), "{e}");
    }
}

#[cfg(test)]
mod bom_tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_kept() {
        let def = Definition::builtin();
        for text in [
            "\u{feff}[{\"name\": \"a\", \"image\": \"a\", \"entryPoint\": [\"/a\"]}]\n",
            "\u{feff}Resources:\n  T:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      RequiresCompatibilities: [FARGATE]\n      ContainerDefinitions:\n        - {Name: a, Image: a, EntryPoint: [/a]}\n",
        ] {
            let out = patch_document(text, None, &def, &Options::default(), &ImageConfigs::new()).unwrap();
            assert!(out.text.starts_with('\u{feff}'), "{}", out.text);
            assert!(out.text.contains("kiltx-tracer"));
            assert_eq!(out.text.matches('\u{feff}').count(), 1);
        }
    }
}
