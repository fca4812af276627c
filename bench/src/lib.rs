//! Data generators and harnesses shared by kiltx's benchmarks (and tests).

pub mod measure;
pub mod runtime_api;

use serde_json::{json, Map, Value};

/// A small deterministic PRNG (xorshift), so generated inputs are the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// A CloudFormation template with `tasks` Fargate task definitions of three containers each,
/// mixing intrinsic functions the way real templates do (Ref/Sub images, Sub commands, If
/// environment entries, GetAtt roles), padded with environment variables to about
/// `target_bytes` of pretty-printed JSON.
pub fn cloudformation_template(tasks: usize, target_bytes: usize) -> Value {
    let mut rng = Rng::new(42);
    let mut resources = Map::new();
    // Per-container padding so that the pretty-printed whole comes out near target_bytes (a
    // container's fixed part is about 1.6 kB, an environment entry about 140 bytes).
    let per_container = target_bytes / (tasks * 3).max(1);
    let env_entries = per_container.saturating_sub(1600) / 140;
    for t in 0..tasks {
        let mut containers = Vec::new();
        for c in 0..3 {
            let name = format!("c{c}");
            let image = match rng.below(3) {
                0 => json!({"Ref": "AppImage"}),
                1 => {
                    json!({"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/svc-{t}:${Tag}"})
                }
                _ => json!(format!(
                    "registry.example.com/team/svc-{t}-{c}:1.{}",
                    rng.below(20)
                )),
            };
            let mut env: Vec<Value> = (0..env_entries)
                .map(|i| json!({"Name": format!("SETTING_{t}_{c}_{i}"), "Value": format!("value-{}", rng.next_u64() % 1_000_000)}))
                .collect();
            env.push(json!({"Fn::If": ["IsProd", {"Name": "MODE", "Value": "prod"}, {"Ref": "AWS::NoValue"}]}));
            env.push(json!({"Name": "TABLE", "Value": {"Ref": "Table"}}));
            let mut container = json!({
                "Name": name,
                "Image": image,
                "Essential": c == 0,
                "EntryPoint": ["/usr/local/bin/entry", {"Fn::Sub": "--region=${AWS::Region}"}],
                "Command": ["serve", "--port", {"Fn::If": ["IsProd", "443", "8080"]}, {"Fn::GetAtt": ["Queue", "Arn"]}],
                "PortMappings": [{"ContainerPort": 8080 + c, "Protocol": "tcp"}],
                "Environment": env,
                "LogConfiguration": {
                    "LogDriver": "awslogs",
                    "Options": {
                        "awslogs-group": {"Ref": "LogGroup"},
                        "awslogs-region": {"Ref": "AWS::Region"},
                        "awslogs-stream-prefix": format!("svc-{t}")
                    }
                }
            });
            if c == 2 {
                container["LinuxParameters"] = json!({"Capabilities": {"Add": ["NET_BIND_SERVICE"]}, "InitProcessEnabled": true});
            }
            containers.push(container);
        }
        resources.insert(
            format!("Task{t}"),
            json!({
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": format!("svc-{t}"),
                    "RequiresCompatibilities": ["FARGATE"],
                    "NetworkMode": "awsvpc",
                    "Cpu": "1024",
                    "Memory": "2048",
                    "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                    "Tags": [{"Key": "team", "Value": "payments"}],
                    "ContainerDefinitions": containers
                }
            }),
        );
    }
    resources.insert("Table".into(), json!({"Type": "AWS::DynamoDB::Table"}));
    resources.insert("Queue".into(), json!({"Type": "AWS::SQS::Queue"}));
    resources.insert("LogGroup".into(), json!({"Type": "AWS::Logs::LogGroup"}));
    resources.insert("ExecutionRole".into(), json!({"Type": "AWS::IAM::Role"}));
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "AppImage": {"Type": "String", "Default": "registry.example.com/team/app:1"},
            "Tag": {"Type": "String", "Default": "1.0"}
        },
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "123456789012"]}},
        "Resources": resources
    })
}

/// The same template as YAML with short-form tags (`!Ref`, `!Sub`, `!If`, `!GetAtt`).
pub fn to_yaml_short_form(v: &Value) -> String {
    use serde_yaml::value::{Tag, TaggedValue};
    use serde_yaml::Value as Y;
    fn conv(v: &Value) -> Y {
        match v {
            Value::Null => Y::Null,
            Value::Bool(b) => Y::Bool(*b),
            Value::Number(n) => serde_yaml::from_str(&n.to_string()).unwrap_or(Y::Null),
            Value::String(s) => Y::String(s.clone()),
            Value::Array(a) => Y::Sequence(a.iter().map(conv).collect()),
            Value::Object(m) => {
                if m.len() == 1 {
                    if let Some((k, inner)) = m.iter().next() {
                        let tag = if k == "Ref" {
                            Some("Ref")
                        } else {
                            k.strip_prefix("Fn::")
                        };
                        if let Some(t) = tag {
                            return Y::Tagged(Box::new(TaggedValue {
                                tag: Tag::new(t),
                                value: conv(inner),
                            }));
                        }
                    }
                }
                Y::Mapping(
                    m.iter()
                        .map(|(k, v)| (Y::String(k.clone()), conv(v)))
                        .collect(),
                )
            }
        }
    }
    serde_yaml::to_string(&conv(v)).unwrap_or_default()
}
