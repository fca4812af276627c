use super::*;

const DEFAULT: &str = r#"build {
	entry_point: ["/kilt/run", "--"]
	command: [] ${?original.entry_point} ${?original.command}
	mount: [
		{
			name: "KiltImage"
			image: "KILT:latest"
			volumes: ["/kilt"]
			entry_point: ["/kilt/wait"]
		}
	]
	capabilities: ["SYS_PTRACE"]
}
"#;

#[test]
fn default_recipe_converts() {
    let r = KiltRecipe::parse(DEFAULT, "default.kilt.cfg", None).unwrap();
    let d = r.convert().unwrap();
    assert_eq!(d.sidecars.len(), 1);
    assert_eq!(d.sidecars[0].name, "KiltImage");
    assert_eq!(d.sidecars[0].essential, None);
    assert_eq!(
        d.containers.command,
        vec![
            Arg::Splice(SpliceArg {
                splice: Splice::EntryPoint
            }),
            Arg::Splice(SpliceArg {
                splice: Splice::Command
            })
        ]
    );
    assert_eq!(d.containers.container_name_variable, None);
}

#[test]
fn bad_recipes_say_where_and_what() {
    let cases = [
        (
            "build {\n  entry_pont: [a]\n}\n",
            "r:2:3",
            "unknown key build.entry_pont",
        ),
        (
            "build {\n  entry_point: \"/bin/sh\"\n}\n",
            "r:2:3",
            "build.entry_point: expected a list",
        ),
        (
            "build {\n  environment_variables { A: ${config.key} }\n}\n",
            "r:2:30",
            "${config.key}",
        ),
        ("build {\n  entry_point: [a\n", "r:", "missing ']'"),
        (
            "build {\n  entry_point: [a]\n  command: [b]\n}\n",
            "r:",
            "exactly once",
        ),
    ];
    for (text, at, what) in cases {
        let e = KiltRecipe::parse(text, "r", None)
            .and_then(|r| r.convert())
            .unwrap_err()
            .to_string();
        assert!(e.contains(at) && e.contains(what), "{text:?}: {e}");
    }
}

#[test]
fn parameter_names_follow_kilt() {
    assert_eq!(parameter_name("SO_LONG_AND_THANKS"), "soLongAndThanks");
    assert_eq!(parameter_name("PLAIN1"), "PLAIN1");
    assert_eq!(parameter_name("A__B"), "aB");
}

#[test]
fn per_task_variables_wait_for_the_task() {
    // A required task tag cannot be known before a task is seen: loading works, patching a
    // task without the tag names the variable.
    let text = "build {\n  entry_point: [\"/k\"] ${?original.entry_point} ${?original.command}\n  command: []\n  environment_variables { TEAM: ${original.metadata.team} }\n}\n";
    let r = KiltRecipe::parse(text, "r", None).unwrap();
    assert!(r.definition(&Knobs::default()).is_ok());
    let e = r.convert().unwrap_err().to_string();
    assert!(
        e.contains("${original.metadata.team}") && e.contains("per container"),
        "{e}"
    );
}
