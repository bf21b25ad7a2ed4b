//! The chain's instances, each continuing from the state `--state` kept for it: its state
//! scope, its snapshot checked and restored, and the refusals of a state that is not its own.

use std::collections::HashMap;
use std::path::Path;

use oplink::__private::ordinal;
use oplink::services::Lookup;
use oplink_host::{Host, Instance, OperatorInfo};

use crate::args::RunArgs;
use crate::error::{CliError, Result};
use crate::plugins::Plugins;

use super::chain::Stage;
use super::spec::{Given, OpSpec};
use super::state_files::{
    Kept, SnapshotSum, config_path, fingerprint, kept_config, partial_of, snapshot_path,
};
use super::summary::StageSummary;

/// Another state of the `index`th operator of the chain (`specs`, kept as `scopes`) in the
/// folder `dir`, `NAME` or `NAME.N`, that was kept with its configuration, and that no
/// operator of the chain continues with the configuration it was kept with: where that
/// operator's state went when the chain's operators of its name changed places.
fn kept_with_this_elsewhere(
    dir: &Path,
    specs: &[OpSpec],
    scopes: &[String],
    index: usize,
) -> Option<String> {
    let name = &specs[index].name;
    let wanted = fingerprint(&specs[index].config);
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let scope = file.strip_suffix(".config")?;
            let rest = scope.strip_prefix(name.as_str())?;
            let its = rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n >= 2));
            (its && scope != scopes[index]).then(|| scope.to_owned())
        })
        .collect();
    others.sort();
    others.into_iter().find(|other| {
        let Ok(Some(kept)) = kept_config(dir, other) else {
            return false;
        };
        // `NAME.3` may be the state of an operator named so (not this one's third).
        if kept.operator.as_ref().is_some_and(|keeper| keeper != name) {
            return false;
        }
        let in_use = scopes
            .iter()
            .zip(specs)
            .any(|(scope, spec)| scope == other && fingerprint(&spec.config) == kept.fingerprint);
        kept.fingerprint == wanted && !in_use
    })
}

/// The state of an operator of the chain that would continue from another's (its
/// operators of one name changed places, or one was removed): [`changed_places`].
struct Moved<'a> {
    /// The state the operator would continue from.
    scope: &'a str,
    /// What that state's configuration file says it was kept with.
    kept: Option<&'a Kept>,
    /// Whether the store holds a part of that state (unknown: taken to).
    in_store: bool,
    /// The state kept with the operator's configuration.
    other: &'a str,
}

/// Why the `index`th operator of the chain (`specs`; `place`: its place among those of its
/// name, and how many there are) may not continue from `moved.scope`, and the ways out.
fn changed_places(
    dir: &Path,
    specs: &[OpSpec],
    index: usize,
    place: (usize, usize),
    moved: Moved<'_>,
) -> CliError {
    let spec = &specs[index];
    let Moved {
        scope,
        kept,
        in_store,
        other,
    } = moved;
    let who = match place {
        (nth, 2..) => format!("the {} `{}` of the chain", ordinal(nth), spec.name),
        _ => format!("operator `{}`", spec.name),
    };
    // The state's files: its configuration's, and its snapshot when there is one.
    let files = [snapshot_path(dir, scope), config_path(dir, scope)]
        .iter()
        .filter(|file| file.exists())
        .map(|file| format!("`{}`", file.display()))
        .collect::<Vec<_>>()
        .join(" and ");
    // The state is another operator's of the chain when one has the configuration it was
    // kept with (they changed places): removing it would start that one afresh, or (its
    // files gone and the other state left) let it continue from the other state with a mere
    // warning.
    let wanted = kept.is_some_and(|kept| {
        specs
            .iter()
            .any(|other| other.name == spec.name && fingerprint(&other.config) == kept.fingerprint)
    });
    // Removing its files starts the operator afresh only when the store holds nothing of
    // the state: a scope of the store cannot be removed by hand.
    let ways = if wanted {
        "put the chain back as it was, or give `--state` another folder to start afresh".to_owned()
    } else if in_store {
        format!(
            "put the chain back as it was, or give `--state` another folder to start afresh (removing the files of the state `{scope}`, {files}, would not do: its part in the store `{}` would stay, and a state's part in the store cannot be removed by hand)",
            dir.join("state.redb").display()
        )
    } else {
        format!(
            "put the chain back as it was, give `--state` another folder to start afresh, or remove the files of the state `{scope}` if it is no longer wanted, {files}, for this operator to start afresh"
        )
    };
    CliError::Usage(format!(
        "{who} would continue from the state `{scope}` in `{}`, kept with another configuration, while the state `{other}` there was kept with its configuration: the chain's `{}` operators changed places, or one was removed; {ways}",
        dir.display(),
        spec.name,
    ))
}

/// The instances of the chain, with their state restored from `--state`.
pub(super) fn instantiate(args: &RunArgs, specs: &[OpSpec], host: &Host) -> Result<Vec<Stage>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let scopes = if args.state.is_some() {
        state_scopes(specs)?
    } else {
        Vec::new()
    };
    let plugins = Plugins::open(&args.plugins)?;
    // A library this host cannot load (one built on a newer oplink, say) may offer an
    // operator of the chain that another library offers too: said, once every operator is
    // found (an operator not found is an error that counts them), so that the run is not
    // taken for one of that library.
    for spec in specs {
        plugins.plugin_for(&spec.name)?;
    }
    if !args.quiet {
        for error in plugins.rejections() {
            crate::say!(
                "oplink: warning: a library of the plugin folders is passed over, and the chain's operators are looked for in the others: {error}"
            );
        }
    }
    let mut stages = Vec::new();
    let places = places(specs.iter().map(|s| s.name.as_str()));
    for (index, spec) in specs.iter().enumerate() {
        let plugin = plugins.plugin_for(&spec.name)?;
        let info = plugin.operator(&spec.name).expect("the plugin offers it");
        check_services(args, spec, info)?;
        let place = match places[index] {
            (nth, 2..) => format!(", in the {} `{}` of the chain", ordinal(nth), spec.name),
            _ => String::new(),
        };
        // A configuration refused: where it came from, when that was not on the command
        // line itself.
        let from = match &spec.given {
            Given::File(file) => format!(" (the configuration read from `{file}`)"),
            Given::Nothing => format!(
                " (`--op {}` gives it no configuration, read as `{{}}`: give one, `--op '{}={{...}}'` or `--op {}=@FILE`)",
                spec.name, spec.name, spec.name
            ),
            Given::Inline => String::new(),
        };
        // An operator the chain names twice: which one could not be made.
        let created = |made: oplink_host::Result<Instance>| {
            made.map_err(|e| {
                let from = if matches!(e, oplink_host::Error::InvalidConfig { .. }) {
                    from.as_str()
                } else {
                    ""
                };
                match (from, place.as_str()) {
                    ("", "") => CliError::Host(e),
                    (from, place) => CliError::Usage(format!("{e}{from}{place}")),
                }
            })
        };
        let (instance, scope) = match &args.state {
            None => (
                created(plugin.instantiate(&spec.name, &spec.config, host))?,
                None,
            ),
            Some(dir) => {
                let scope = scopes[index].clone();
                let mut instance =
                    created(plugin.instantiate_named(&spec.name, &spec.config, host, &scope))?;
                continue_from(
                    args,
                    dir,
                    (specs, &scopes),
                    index,
                    places[index],
                    host,
                    &mut instance,
                )?;
                (instance, Some(scope))
            }
        };
        stages.push(Stage {
            place,
            scope,
            config: spec.config.clone(),
            instance,
            done: StageSummary {
                name: spec.name.clone(),
                ..StageSummary::default()
            },
        });
    }
    Ok(stages)
}

/// Refuses an operator that requires a host service `oplink run` cannot provide, or
/// `oplink.Lookup` without a `--lookup` table.
fn check_services(args: &RunArgs, spec: &OpSpec, info: &OperatorInfo) -> Result<()> {
    let lookup_name = <dyn Lookup as oplink::service::Service>::NAME;
    for service in info.requires() {
        if oplink::services::is_standard(&service.name) {
            continue;
        }
        if service.name == lookup_name {
            if args.lookup.is_empty() {
                return Err(CliError::Usage(format!(
                    "operator `{}` requires the host service `{lookup_name}`: give it its tables with `--lookup NAME=FILE`",
                    spec.name
                )));
            }
            continue;
        }
        return Err(CliError::Usage(format!(
            "operator `{}` requires the host service `{}`, which `oplink run` cannot provide (it provides the standard services and `{lookup_name}`); run it in a host that provides `{}`",
            spec.name, service.name, service.name
        )));
    }
    Ok(())
}

/// The chain's `index`th operator (`specs`, kept as `scopes`), at `place` in the chain,
/// continuing from its state in the `--state` folder `dir`: what a stopped run left is
/// removed; a state kept by another operator or with another configuration is warned of,
/// or refused when the chain's operators changed places; a kept snapshot is checked and
/// handed back to `instance`.
fn continue_from(
    args: &RunArgs,
    dir: &Path,
    (specs, scopes): (&[OpSpec], &[String]),
    index: usize,
    place: (usize, usize),
    host: &Host,
    instance: &mut Instance,
) -> Result<()> {
    let (spec, scope) = (&specs[index], &scopes[index]);
    let snapshot = snapshot_path(dir, scope);
    // What a run killed before it kept its state left (what one killed after it
    // kept its store was put in place by `finish_kept`): said, then removed.
    for left in [partial_of(&snapshot), partial_of(&config_path(dir, scope))] {
        if std::fs::symlink_metadata(&left).is_ok_and(|m| m.is_file()) {
            if !args.quiet {
                crate::say!(
                    "oplink: warning: `{}` is left by a run stopped before it kept its state, and is removed: operator `{}` continues from the state kept before that run",
                    left.display(),
                    spec.name,
                );
            }
            let _ = std::fs::remove_file(&left);
        }
    }
    // A snapshot kept here is handed back to the operator, and one that cannot
    // take it back (a build without `restore`, after one that had it) is
    // refused below rather than its state dropped without a word; so is one
    // that cannot write it again (a build without `snapshot`).
    let takes_back = instance.info().implemented().restore();
    let snapshot_kept = snapshot.exists();
    let kept = kept_config(dir, scope)?;
    // Whether the operator continues from a state kept here: a snapshot it takes back, or
    // a part in the store (a store that cannot say is taken to hold one). It decides the
    // warnings below, and the refusal of a chain whose operators changed places.
    let continues =
        || (snapshot_kept && takes_back) || host.state_store().has_entries(scope).unwrap_or(true);
    if !args.quiet
        && let Some(Kept {
            operator: Some(keeper),
            ..
        }) = &kept
        && *keeper != spec.name
        && continues()
    {
        // A numbered state (`tally.2`) of one run is the name of another's
        // operator.
        crate::say!(
            "oplink: warning: operator `{}` continues from the state `{scope}` in `{}`, which operator `{keeper}` kept; give `--state` another folder to start afresh",
            spec.name,
            dir.display(),
        );
    } else if kept
        .as_ref()
        .is_some_and(|kept| kept.fingerprint != fingerprint(&spec.config))
        && continues()
    {
        // Another of the operator's states there was kept with this
        // configuration: the chain's operators of this name changed places, or
        // one was removed. Refused: continuing would mix the two states for
        // good (putting the chain back after would mix them again).
        if let Some(other) = kept_with_this_elsewhere(dir, specs, scopes, index) {
            let in_store = host.state_store().has_entries(scope).unwrap_or(true);
            return Err(changed_places(
                dir,
                specs,
                index,
                place,
                Moved {
                    scope,
                    kept: kept.as_ref(),
                    in_store,
                    other: &other,
                },
            ));
        }
        if !args.quiet {
            crate::say!(
                "oplink: warning: operator `{}` continues from its state `{scope}` in `{}`, which was kept with another configuration; give `--state` another folder to start afresh",
                spec.name,
                dir.display(),
            );
        }
    }
    // Whether the store keeps a part of this operator's state, which a snapshot
    // removed does not take with it (unknown: taken to).
    let in_store = || host.state_store().has_entries(scope).unwrap_or(true);
    // A run kept this operator's state here (its configuration's fingerprint is
    // written beside its snapshot), but the snapshot is gone: it starts afresh,
    // or from its store alone.
    if !args.quiet
        && takes_back
        && instance.info().implemented().snapshot()
        && !snapshot.exists()
        && config_path(dir, scope).is_file()
    {
        let starts = if in_store() {
            format!("starts from its store `{scope}` alone")
        } else {
            "starts afresh".to_owned()
        };
        crate::say!(
            "oplink: warning: operator `{}` {starts}: its snapshot `{}` is gone, though a run kept its state in `{}`",
            spec.name,
            snapshot.display(),
            dir.display(),
        );
    }
    if snapshot_kept {
        restore_snapshot(
            spec,
            dir,
            scope,
            kept.as_ref(),
            &snapshot,
            &in_store,
            instance,
        )?;
    }
    Ok(())
}

/// Hands the snapshot kept at `snapshot` back to `instance` (the operator of `spec`, whose
/// state is `scope` in the `--state` folder `dir`), once it is checked against the sum its
/// configuration file (`kept`) recorded; refused when the build cannot take it back, or
/// would never write it again. `in_store` says whether the store keeps a part of the state.
fn restore_snapshot(
    spec: &OpSpec,
    dir: &Path,
    scope: &str,
    kept: Option<&Kept>,
    snapshot: &Path,
    in_store: &dyn Fn() -> bool,
    instance: &mut Instance,
) -> Result<()> {
    let takes_back = instance.info().implemented().restore();
    let bytes = std::fs::read(snapshot).map_err(|e| CliError::io("read", snapshot, e))?;
    let advice = || {
        if in_store() {
            format!(
                "remove it to let the operator start from its store `{scope}` alone, or give `--state` another folder to start afresh"
            )
        } else {
            "remove it to start afresh".to_owned()
        }
    };
    if let Some(Kept {
        snapshot: Some(written),
        ..
    }) = kept
        && *written != SnapshotSum::of(&bytes)
    {
        return Err(CliError::Data {
            path: snapshot.to_path_buf(),
            line: None,
            column: None,
            reason: format!(
                "operator `{}`'s snapshot is not what the run that kept it wrote, by `{}` ({} bytes, sum {:016x}; it holds {} bytes): one of the two was changed since; restore the folder from a backup, or {}",
                spec.name,
                config_path(dir, scope).display(),
                written.length,
                written.sum,
                bytes.len(),
                advice()
            ),
        });
    }
    if !takes_back && !bytes.is_empty() {
        return Err(CliError::Usage(cannot_take_back(
            &spec.name,
            bytes.len(),
            snapshot,
            instance.info().implemented().snapshot(),
        )));
    }
    // Nor one this build would restore at every run and never write
    // again: every run would start from that same state.
    if takes_back && !instance.info().implemented().snapshot() && !bytes.is_empty() {
        return Err(CliError::Usage(cannot_update(
            &spec.name,
            bytes.len(),
            snapshot,
        )));
    }
    // An empty snapshot is no state: nothing to hand to an operator
    // without `restore`.
    if takes_back {
        instance
            .restore(&bytes)
            .map_err(|source| CliError::Restore {
                path: snapshot.to_path_buf(),
                advice: advice(),
                source: Box::new(source),
            })?;
    }
    Ok(())
}

/// For each of `names` (a chain's operators), which of its name it is (from 1) and how many
/// of its name the chain holds.
pub(super) fn places<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Vec<(usize, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    names
        .clone()
        .map(|name| {
            let nth = seen.entry(name).or_insert(0);
            *nth += 1;
            (*nth, names.clone().filter(|n| *n == name).count())
        })
        .collect()
}

/// The state scope of each operator of the chain: its name, and `NAME.N` for the N-th
/// operator of one name from the second on; refused when one of those is another
/// operator's name in the chain, since the two would share their state.
fn state_scopes(specs: &[OpSpec]) -> Result<Vec<String>> {
    // Each scope with the operator's name and which of that name it is.
    let mut scopes: Vec<(String, &str, usize)> = Vec::with_capacity(specs.len());
    let places = places(specs.iter().map(|s| s.name.as_str()));
    for (spec, &(count, _)) in specs.iter().zip(&places) {
        let scope = match count {
            1 => spec.name.clone(),
            n => format!("{}.{n}", spec.name),
        };
        // Only a name and a numbered scope can meet: a scope's number follows its last dot.
        if let Some((_, other, other_count)) = scopes.iter().find(|(s, ..)| *s == scope) {
            let (named, numbered, n) = if *other_count == 1 {
                (*other, spec.name.as_str(), count)
            } else {
                (spec.name.as_str(), *other, *other_count)
            };
            return Err(CliError::Usage(format!(
                "with `--state`, the {} `{numbered}` of the chain keeps its state as `{scope}`, which is the name of operator `{named}` too: the two would share one state; run them in separate chains, each with its own `--state` folder",
                ordinal(n)
            )));
        }
        scopes.push((scope, &spec.name, count));
    }
    Ok(scopes.into_iter().map(|(scope, ..)| scope).collect())
}

/// Why a run stops at a snapshot of `length` bytes for an operator without `restore`, and
/// what to do. Who kept it: a build with `restore`, another operator of the name, or, for
/// an operator with `snapshot`, an earlier oplink, which kept the snapshots of operators
/// without `restore` too (never handed back): then nothing is lost by removing it.
fn cannot_take_back(operator: &str, length: usize, path: &Path, snapshots: bool) -> String {
    let start = format!(
        "operator `{operator}` has no `restore`, so it cannot take back the {} of state in `{}`",
        crate::counted(length, "byte", "bytes"),
        path.display(),
    );
    if snapshots {
        format!(
            "{start}, kept by a build of it that had `restore`, by another operator of its name, or by an earlier oplink (which also kept the snapshots of operators without `restore`, never handing them back: then nothing is lost by removing it); run the build that kept it, or remove the file to run without that state"
        )
    } else {
        format!(
            "{start}, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state"
        )
    }
}

/// Why a run stops at a snapshot of `length` bytes for an operator with `restore` and no
/// `snapshot`: restored at every run and never written again, it would start every run
/// from the same state. (Refused rather than said in a warning, since every run's output
/// would be wrong, as the refusal of a snapshot an operator cannot take back is.)
fn cannot_update(operator: &str, length: usize, path: &Path) -> String {
    format!(
        "operator `{operator}` has no `snapshot`, so the {} of state in `{}` (kept by a build of it that had `snapshot`, or by another operator of its name) would be restored at every run and never updated, each run starting from that same state; run the build that kept it, or remove the file to run without that state",
        crate::counted(length, "byte", "bytes"),
        path.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::spec::parse_op;

    #[test]
    fn a_snapshot_for_an_operator_without_restore_names_who_may_have_kept_it() {
        let path = Path::new("state/tally.snapshot");
        // Without `snapshot` either: only another build or operator wrote it.
        assert_eq!(
            cannot_take_back("tally", 1, path, false),
            "operator `tally` has no `restore`, so it cannot take back the 1 byte of state in `state/tally.snapshot`, kept by a build of it that had `restore` or by another operator of its name; run that build, or remove the file to run without that state"
        );
        // With `snapshot`: an earlier oplink kept this very build's snapshots, unread.
        assert_eq!(
            cannot_take_back("tally", 12, path, true),
            "operator `tally` has no `restore`, so it cannot take back the 12 bytes of state in `state/tally.snapshot`, kept by a build of it that had `restore`, by another operator of its name, or by an earlier oplink (which also kept the snapshots of operators without `restore`, never handing them back: then nothing is lost by removing it); run the build that kept it, or remove the file to run without that state"
        );
    }

    /// Only a state the operator's own name kept counts as where its state went: `tally.3`
    /// kept by an operator named so, with the same configuration, is another's.
    #[test]
    fn a_state_kept_elsewhere_is_one_this_operator_kept() {
        let dir = tempfile::tempdir().unwrap();
        let tally = parse_op(r#"tally={"key": "region"}"#).unwrap();
        let kept_with = fingerprint(&tally.config);
        let keep = |scope: &str, operator: &str| {
            let text = format!("{kept_with}\n{operator}\n");
            std::fs::write(config_path(dir.path(), scope), text).unwrap();
        };
        // This one's own state, kept with another configuration.
        std::fs::write(
            config_path(dir.path(), "tally"),
            "0000000000000000\ntally\n",
        )
        .unwrap();
        keep("tally.3", "tally.3");
        let (specs, scopes) = (vec![tally], vec!["tally".to_owned()]);
        assert_eq!(
            kept_with_this_elsewhere(dir.path(), &specs, &scopes, 0),
            None
        );
        keep("tally.2", "tally");
        assert_eq!(
            kept_with_this_elsewhere(dir.path(), &specs, &scopes, 0).as_deref(),
            Some("tally.2")
        );
    }

    #[test]
    fn a_repeated_operator_numbers_its_state_and_meets_no_other_name() {
        let chain = |names: &[&str]| -> Vec<OpSpec> {
            names.iter().map(|n| parse_op(n).unwrap()).collect()
        };
        assert_eq!(
            state_scopes(&chain(&["tally", "tally.3", "tally"])).unwrap(),
            ["tally", "tally.3", "tally.2"]
        );
        for names in [["tally.2", "tally", "tally"], ["tally", "tally", "tally.2"]] {
            let e = state_scopes(&chain(&names)).unwrap_err().to_string();
            assert_eq!(
                e,
                "with `--state`, the 2nd `tally` of the chain keeps its state as `tally.2`, which is the name of operator `tally.2` too: the two would share one state; run them in separate chains, each with its own `--state` folder",
                "{names:?}"
            );
        }
    }
}
