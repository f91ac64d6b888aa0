//! Joining runs: the results of several `ftpspec run --partition` jobs (or any runs of
//! disjoint cases) into one run, for one `results.json`, report and JUnit file.
//!
//! The runs must share the schema, the ftpspec version and `--repeat`, and no case (client
//! and scenario) may be in two of them. The joined run has every case, the clients of all
//! (a client whose version differs between runs is listed once per version, with a
//! warning), is interrupted when any run was, and lists the runs it joined in
//! [`RunResults::merged_from`] (a run that was itself a merge brings its own list). Its
//! `seed` and `partition` are empty: each run's are in its `merged_from` entry.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{CaseRole, ClientInfo, MergedRun, RunResults};

/// Why runs cannot be merged. Each message says what differs, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// Nothing given.
    #[error("nothing to merge: give the directories of the runs (each with a results.json)")]
    NoInput,
    /// Two runs of different results schemas.
    #[error("cannot merge {first} (results schema {first_schema}) with {second} (results schema {second_schema}): run every partition with the same ftpspec")]
    Schema {
        /// The first run.
        first: String,
        /// Its schema.
        first_schema: u32,
        /// The other run.
        second: String,
        /// Its schema.
        second_schema: u32,
    },
    /// Two runs by different ftpspec versions.
    #[error("cannot merge {first} (ftpspec {first_version}) with {second} (ftpspec {second_version}): the partitions must come from the same ftpspec build; pin one version or commit for every CI job and run them again")]
    Version {
        /// The first run.
        first: String,
        /// Its ftpspec version.
        first_version: String,
        /// The other run.
        second: String,
        /// Its ftpspec version.
        second_version: String,
    },
    /// Two runs with different `--repeat`.
    #[error("cannot merge {first} (each case run {first_repeat} time(s)) with {second} ({second_repeat} time(s)): run every partition with the same --repeat")]
    Repeat {
        /// The first run.
        first: String,
        /// Its repeat.
        first_repeat: u32,
        /// The other run.
        second: String,
        /// Its repeat.
        second_repeat: u32,
    },
    /// A case in two runs.
    #[error("cannot merge: the case {client} {scenario} is in both {first} and {second}{more}; each case must come from one run: give every job the same N and its own K (--partition hash:K/N)")]
    Overlap {
        /// The client.
        client: String,
        /// The scenario.
        scenario: String,
        /// The first run that has it.
        first: String,
        /// The other.
        second: String,
        /// How many other cases overlap, said as ` (and N more)`, or empty.
        more: String,
    },
}

/// Joins `runs` (each with where it came from, e.g. its directory), in the order given.
/// Returns the joined run, sorted, and warnings (client versions that differ between runs,
/// interrupted runs, partitions of a set that are missing).
pub fn merge(runs: Vec<(String, RunResults)>) -> Result<(RunResults, Vec<String>), MergeError> {
    let Some((first_source, first)) = runs.first() else {
        return Err(MergeError::NoInput);
    };
    for (source, run) in &runs[1..] {
        if run.schema != first.schema {
            return Err(MergeError::Schema {
                first: first_source.clone(),
                first_schema: first.schema,
                second: source.clone(),
                second_schema: run.schema,
            });
        }
        if run.ftpspec_version != first.ftpspec_version {
            return Err(MergeError::Version {
                first: first_source.clone(),
                first_version: first.ftpspec_version.clone(),
                second: source.clone(),
                second_version: run.ftpspec_version.clone(),
            });
        }
        if run.repeat != first.repeat {
            return Err(MergeError::Repeat {
                first: first_source.clone(),
                first_repeat: first.repeat,
                second: source.clone(),
                second_repeat: run.repeat,
            });
        }
    }
    let mut owner: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut overlaps = Vec::new();
    for (source, run) in &runs {
        for r in &run.results {
            let key = (r.client.as_str(), r.scenario.as_str());
            if let Some(was) = owner.insert(key, source) {
                overlaps.push((key, was, source.as_str()));
            }
        }
    }
    if let Some(&((client, scenario), first, second)) = overlaps.first() {
        let more = match overlaps.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        return Err(MergeError::Overlap {
            client: client.into(),
            scenario: scenario.into(),
            first: first.into(),
            second: second.into(),
            more,
        });
    }
    let mut warnings = Vec::new();
    let mut clients: BTreeSet<(String, String, CaseRole)> = BTreeSet::new();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let mut merged_from = Vec::new();
    let mut results = Vec::new();
    let (schema, ftpspec_version, repeat) =
        (first.schema, first.ftpspec_version.clone(), first.repeat);
    for (source, run) in runs {
        if run.interrupted {
            warnings.push(format!(
                "{source} was interrupted: its cases are only those that finished"
            ));
        }
        clients.extend(
            run.clients
                .iter()
                .map(|c| (c.name.clone(), c.version.clone(), c.role)),
        );
        missing.extend(run.missing_clients.iter().cloned());
        if run.merged_from.is_empty() {
            merged_from.push(MergedRun {
                source,
                partition: run.partition.clone(),
                seed: run.seed,
                clients: run.clients.clone(),
                interrupted: run.interrupted,
                cases: run.results.len(),
            });
        } else {
            merged_from.extend(run.merged_from);
        }
        results.extend(run.results);
    }
    let mut versions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, version, _) in &clients {
        versions.entry(name).or_default().push(version);
    }
    for (name, vs) in versions.iter().filter(|(_, vs)| vs.len() > 1) {
        warnings.push(format!(
            "{name} has different versions in the runs ({}): its cases are each marked with theirs",
            vs.join("; ")
        ));
    }
    warnings.extend(missing_partitions(&merged_from));
    // A client missing on one machine but run on another is not missing.
    missing.retain(|m| !versions.contains_key(m.as_str()));
    let mut run = RunResults {
        schema,
        ftpspec_version,
        clients: clients
            .into_iter()
            .map(|(name, version, role)| ClientInfo {
                name,
                version,
                role,
            })
            .collect(),
        missing_clients: missing.into_iter().collect(),
        interrupted: merged_from.iter().any(|m| m.interrupted),
        repeat,
        seed: None,
        partition: None,
        merged_from,
        timing: None,
        results,
    };
    run.sort();
    Ok((run, warnings))
}

/// For each partition set (`hash:_/4`, ...) among the runs, a warning naming the shares
/// none of them had.
fn missing_partitions(runs: &[MergedRun]) -> Vec<String> {
    let mut sets: BTreeMap<(&str, u32), BTreeSet<u32>> = BTreeMap::new();
    for p in runs.iter().filter_map(|m| m.partition.as_deref()) {
        let Some((scheme, share)) = p.split_once(':') else {
            continue;
        };
        let Some((k, n)) = share.split_once('/') else {
            continue;
        };
        if let (Ok(k), Ok(n)) = (k.parse::<u32>(), n.parse::<u32>()) {
            sets.entry((scheme, n)).or_default().insert(k);
        }
    }
    sets.into_iter()
        .filter_map(|((scheme, n), have)| {
            let lacking: Vec<String> = (1..=n)
                .filter(|k| !have.contains(k))
                .map(|k| format!("{scheme}:{k}/{n}"))
                .collect();
            (!lacking.is_empty()).then(|| {
                format!(
                    "partition(s) {} not among the runs: the merged run lacks their cases",
                    lacking.join(", ")
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CaseResult, Verdict};

    fn case(client: &str, scenario: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            client_version: format!("{client} 1"),
            duration_ms: 1,
            ..CaseResult::new(client, scenario, verdict)
        }
    }

    fn part(partition: &str, cases: Vec<CaseResult>) -> RunResults {
        let mut names: Vec<String> = cases.iter().map(|c| c.client.clone()).collect();
        names.sort();
        names.dedup();
        RunResults {
            clients: names
                .into_iter()
                .map(|n| ClientInfo {
                    version: format!("{n} 1"),
                    name: n,
                    role: CaseRole::Client,
                })
                .collect(),
            missing_clients: vec!["tnftp".into()],
            seed: Some(7),
            partition: Some(partition.into()),
            ..RunResults::new("0.1.0", cases)
        }
    }

    fn two() -> Vec<(String, RunResults)> {
        vec![
            (
                "part-1".into(),
                part(
                    "hash:1/2",
                    vec![
                        case("curl", "g/b", Verdict::Pass),
                        case("wget", "g/a", Verdict::Fail),
                    ],
                ),
            ),
            (
                "part-2".into(),
                part(
                    "hash:2/2",
                    vec![
                        case("curl", "g/a", Verdict::Pass),
                        case("lftp", "g/a", Verdict::Error),
                    ],
                ),
            ),
        ]
    }

    #[test]
    fn joins_disjoint_runs() {
        let (run, warnings) = merge(two()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let cases: Vec<(&str, &str)> = run
            .results
            .iter()
            .map(|r| (r.scenario.as_str(), r.client.as_str()))
            .collect();
        assert_eq!(
            cases,
            [
                ("g/a", "curl"),
                ("g/a", "lftp"),
                ("g/a", "wget"),
                ("g/b", "curl")
            ]
        );
        let names: Vec<&str> = run.clients.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["curl", "lftp", "wget"]);
        assert_eq!(run.missing_clients, ["tnftp"]);
        assert_eq!((run.seed, run.partition.as_deref()), (None, None));
        let parts: Vec<(&str, Option<&str>, usize)> = run
            .merged_from
            .iter()
            .map(|m| (m.source.as_str(), m.partition.as_deref(), m.cases))
            .collect();
        assert_eq!(
            parts,
            [
                ("part-1", Some("hash:1/2"), 2),
                ("part-2", Some("hash:2/2"), 2)
            ]
        );
        // It survives results.json, and merging it again keeps the list flat.
        let again = RunResults::from_json(&run.to_json()).unwrap();
        assert_eq!(again, run);
        let (twice, _) = merge(vec![("all".into(), again)]).unwrap();
        assert_eq!(twice.merged_from, run.merged_from);
    }

    #[test]
    fn refuses_a_case_in_two_runs() {
        let mut runs = two();
        runs[1].1.results.push(case("wget", "g/a", Verdict::Pass));
        runs[1].1.results.push(case("curl", "g/b", Verdict::Pass));
        let e = merge(runs).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot merge: the case wget g/a is in both part-1 and part-2 (and 1 more); each case must come from one run: give every job the same N and its own K (--partition hash:K/N)"
        );
    }

    #[test]
    fn refuses_other_schemas_versions_and_repeats() {
        let mut runs = two();
        runs[1].1.schema = 2;
        assert_eq!(
            merge(runs).unwrap_err().to_string(),
            "cannot merge part-1 (results schema 1) with part-2 (results schema 2): run every partition with the same ftpspec"
        );
        let mut runs = two();
        runs[1].1.ftpspec_version = "0.2.0".into();
        assert_eq!(
            merge(runs).unwrap_err().to_string(),
            "cannot merge part-1 (ftpspec 0.1.0) with part-2 (ftpspec 0.2.0): the partitions must come from the same ftpspec build; pin one version or commit for every CI job and run them again"
        );
        let mut runs = two();
        runs[0].1.repeat = 3;
        assert!(matches!(
            merge(runs),
            Err(MergeError::Repeat {
                first_repeat: 3,
                second_repeat: 1,
                ..
            })
        ));
        assert_eq!(merge(Vec::new()), Err(MergeError::NoInput));
    }

    #[test]
    fn warns_of_missing_partitions_mixed_versions_and_interruptions() {
        let mut runs = two();
        runs[1].1.partition = Some("hash:3/3".into());
        runs[1].1.clients[0].version = "curl 2".into();
        runs[1].1.interrupted = true;
        let (run, warnings) = merge(runs).unwrap();
        assert!(run.interrupted);
        assert_eq!(
            warnings,
            [
                "part-2 was interrupted: its cases are only those that finished",
                "curl has different versions in the runs (curl 1; curl 2): its cases are each marked with theirs",
                "partition(s) hash:2/2 not among the runs: the merged run lacks their cases",
                "partition(s) hash:1/3, hash:2/3 not among the runs: the merged run lacks their cases",
            ]
        );
    }
}
