//! The embedded list of common passwords (see `data/README.md` for its source).

use std::cmp::Ordering;

/// One password a line, lower-case printable ASCII, sorted by byte value, LF endings, a final
/// newline. The tests below check each of these, since the lookup relies on them.
static LIST: &str = include_str!("../../data/common-passwords.txt");

/// Whether `password`, compared whole and case-insensitively, is in the embedded list of common
/// passwords (30,000 of the most frequent leaked passwords; see `data/README.md`).
///
/// The comparison lower-cases the password's characters ([`char::to_lowercase`]), so
/// `"PassWord"` matches `"password"`; nothing is trimmed, so `" password"` does not. The lookup
/// is a binary search over the embedded text: O(log n) comparisons, no allocation, nothing
/// built at start-up.
///
/// ```
/// use axum_users_core::policy::is_common_password;
///
/// assert!(is_common_password("password"));
/// assert!(is_common_password("PassWord"));
/// assert!(!is_common_password("correct horse battery staple"));
/// ```
#[must_use]
pub fn is_common_password(password: &str) -> bool {
    let text = LIST.as_bytes();
    // Invariant: `lo` is the start of a line, and `hi` is the start of a line or the end of the
    // text, so `text[lo..hi]` holds whole lines, each ended by its newline.
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = text[lo..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = text[start..hi]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(hi, |i| start + i);
        let entry = &text[start..end];
        // The entries are ASCII, so byte order is character order.
        let order = entry
            .iter()
            .map(|&b| char::from(b))
            .cmp(password.chars().flat_map(char::to_lowercase));
        match order {
            Ordering::Equal => return true,
            Ordering::Less => lo = end + 1,
            Ordering::Greater => hi = start,
        }
    }
    false
}

/// How many passwords the embedded list holds (30,000). Counts the lines on each call.
///
/// ```
/// assert!(axum_users_core::policy::common_password_count() >= 10_000);
/// ```
#[must_use]
pub fn common_password_count() -> usize {
    LIST.lines().count()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_list_has_the_shape_the_lookup_relies_on() {
        assert!(LIST.ends_with('\n'));
        let entries: Vec<&str> = LIST.lines().collect();
        assert!(entries.len() >= 10_000, "{} entries", entries.len());
        assert_eq!(entries.len(), common_password_count());
        for entry in &entries {
            assert!(!entry.is_empty());
            assert!(
                entry
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()),
                "{entry:?}"
            );
        }
        for pair in entries.windows(2) {
            assert!(pair[0] < pair[1], "not sorted or not unique: {pair:?}");
        }
    }

    #[test]
    fn every_entry_is_found_in_any_case_and_near_misses_are_not() {
        let set: HashSet<&str> = LIST.lines().collect();
        for entry in &set {
            assert!(is_common_password(entry), "{entry}");
            assert!(is_common_password(&entry.to_uppercase()), "{entry}");
            for miss in [
                format!("{entry}~"),
                format!("~{entry}"),
                entry[..entry.len() - 1].to_owned(),
                format!("{entry}\n"),
            ] {
                assert_eq!(
                    is_common_password(&miss),
                    set.contains(miss.as_str()),
                    "{miss:?}"
                );
            }
        }
        assert!(!is_common_password(""));
        assert!(!is_common_password("\n"));
    }

    #[test]
    fn unicode_lower_casing_is_applied() {
        // U+212A KELVIN SIGN lower-cases to an ASCII 'k'.
        assert!(is_common_password("\u{212A}iller"));
        assert!(is_common_password("killer"));
        assert!(!is_common_password("kïller"));
    }
}
