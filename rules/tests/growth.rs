//! Loading a rules file costs time and memory in proportion to it (issue #18), measured by
//! `kiltx_testsupport::growth`: each family makes files of one shape at sizes n, 2n, 4n, 8n and
//! loads them as `kiltx-tracer collect --rules` does.
//!
//! The shapes are those whose cost grew faster than the file: a list named many times in one
//! condition (a new string per occurrence), many lists and many rules (every list's name
//! searched in every condition), and the expansion bombs (macros and lists that multiply at
//! each level), which now cost at most the budget of a file of their size at every size.

use kiltx_rules::load;
use kiltx_testsupport::growth::{grows_linearly, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rules(text: &str) {
    let _ = load(&[("growth.yaml".to_string(), text.to_string())]);
}

/// `n` rules that load, to make a file of a size.
fn filler(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "- rule: r{i}\n  desc: d\n  condition: evt.type = openat and proc.name = p{i}\n  output: o %proc.name\n  priority: INFO\n"
            )
        })
        .collect()
}

#[test]
fn a_list_named_many_times_in_one_condition() {
    grows_linearly(
        "a list named n times in one condition",
        500,
        &|n| {
            let names = vec!["shells"; n].join(", ");
            format!(
                "- list: shells\n  items: [sh, bash, \"my shell\"]\n- rule: r\n  desc: d\n  condition: proc.name in ({names})\n  output: o\n  priority: INFO\n"
            )
        },
        &rules,
    );
}

#[test]
fn many_lists_and_many_rules() {
    grows_linearly(
        "n lists, n rules each naming one",
        100,
        &|n| {
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&format!("- list: l{i}\n  items: [a{i}, b{i}]\n"));
            }
            for i in 0..n {
                s.push_str(&format!(
                    "- rule: r{i}\n  desc: d\n  condition: evt.type = execve and proc.name in (l{i})\n  output: o\n  priority: INFO\n"
                ));
            }
            s
        },
        &rules,
    );
}

#[test]
fn many_macros_and_many_rules() {
    grows_linearly(
        "n macros, n rules each naming one",
        100,
        &|n| {
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&format!(
                    "- macro: m{i}\n  condition: (evt.type = execve and proc.name = a{i})\n"
                ));
            }
            for i in 0..n {
                s.push_str(&format!(
                    "- rule: r{i}\n  desc: d\n  condition: m{i} and user.uid = 0\n  output: o\n  priority: INFO\n"
                ));
            }
            s
        },
        &rules,
    );
}

#[test]
fn macro_bombs_cost_the_budget_of_their_size() {
    grows_linearly(
        "40 macros each (m or m) of the one before, and n rules",
        200,
        &|n| {
            let mut s = String::from("- macro: m0\n  condition: evt.type = open\n");
            for i in 1..=40 {
                s.push_str(&format!(
                    "- macro: m{i}\n  condition: (m{} or m{})\n",
                    i - 1,
                    i - 1
                ));
            }
            s + "- rule: bomb\n  desc: d\n  condition: m40\n  output: o\n  priority: INFO\n"
                + &filler(n)
        },
        &rules,
    );
}

#[test]
fn list_bombs_cost_the_budget_of_their_size() {
    grows_linearly(
        "30 lists each naming the next twice, and n rules",
        200,
        &|n| {
            let mut s = String::new();
            for i in 0..30 {
                s.push_str(&format!(
                    "- list: l{i}\n  items: [l{}, l{}]\n",
                    i + 1,
                    i + 1
                ));
            }
            s + "- list: l30\n  items: [x]\n- rule: bomb\n  desc: d\n  condition: proc.name in (l0)\n  output: o\n  priority: INFO\n"
                + &filler(n)
        },
        &rules,
    );
}
