//! "Did you mean": the known name closest to a misspelt one.

/// The candidate `name` most likely misspells, if any: the nearest within about a third of
/// its length in edits (a swap of two neighbouring letters is one), as rustc suggests
/// names; else one that `name` begins (`desc` for `description`), at least three letters.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let limit = (name.chars().count() / 3).max(1);
    let nearest = candidates
        .iter()
        .map(|&candidate| (edit_distance(name, candidate), candidate))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate);
    nearest.or_else(|| {
        (name.len() >= 3)
            .then(|| candidates.iter().copied().find(|c| c.starts_with(name)))
            .flatten()
    })
}

/// `did you mean `x`? ` for the closest candidate, or nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|candidate| format!("did you mean `{candidate}`? "))
        .unwrap_or_default()
}

/// The optimal string alignment distance, by characters: insertions, deletions,
/// substitutions and swaps of two neighbours, each one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back (for swaps), the last, and this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 5] = ["name", "version", "description", "requires", "crate"];

    #[test]
    fn a_near_miss_or_a_prefix_and_nothing_else() {
        assert_eq!(closest("nmae", KEYS), Some("name"));
        assert_eq!(closest("nam", KEYS), Some("name"));
        assert_eq!(closest("verison", KEYS), Some("version"));
        assert_eq!(closest("requirs", KEYS), Some("requires"));
        assert_eq!(closest("desc", KEYS), Some("description"));
        assert_eq!(closest("crat", KEYS), Some("crate"));
        // Other words, however near in letters: no suggestion.
        assert_eq!(closest("state", KEYS), None);
        assert_eq!(closest("note", KEYS), None);
        assert_eq!(closest("colour", KEYS), None);
        assert_eq!(closest("author", KEYS), None);
        assert_eq!(did_you_mean("crat", KEYS), "did you mean `crate`? ");
        assert_eq!(did_you_mean("zzz", KEYS), "");
    }

    #[test]
    fn a_swap_is_one_edit() {
        assert_eq!(edit_distance("nmae", "name"), 1);
        assert_eq!(edit_distance("name", "name"), 0);
        assert_eq!(edit_distance("", "name"), 4);
        assert_eq!(edit_distance("state", "crate"), 2);
    }
}
