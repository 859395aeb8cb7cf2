//! After a run: does the server's store hold every pushed op exactly once?
//!
//! For every device and every chain it pushed, the stored entries of that
//! visit written by that device must be exactly the positions pushed (each
//! once: positions are unique in a chain, so the count and the first and last
//! position settle it), none refused, and the stored head must have the hash
//! the device computed. The chain is hash-linked and the server checked each
//! link on arrival, so a matching head means the whole chain matches.

use doorstep_server::store::{self, Store};

use super::prepare::Prepared;

/// What the check found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Chains checked.
    pub chains: u64,
    /// Entries found, as expected.
    pub entries: u64,
    /// What did not match (the first few).
    pub mismatches: Vec<String>,
    /// How many did not match.
    pub mismatch_count: u64,
}

impl Verdict {
    fn mismatch(&mut self, text: String) {
        self.mismatch_count += 1;
        if self.mismatches.len() < 10 {
            self.mismatches.push(text);
        }
    }
}

/// Checks `store` against what the devices in `devices` pushed.
pub fn check(store: &dyn Store, prepared: &Prepared, devices: &[usize]) -> Result<Verdict, String> {
    let mut verdict = Verdict::default();
    for &n in devices {
        let day = prepared.days.get(n).ok_or("no such device")?;
        for chain in &day.chains {
            verdict.chains += 1;
            let stored = store::read(store, |tx| tx.visit_entries(chain.visit))
                .map_err(|e| e.to_string())?;
            let mine: Vec<_> = stored
                .iter()
                .filter(|s| s.entry.author == day.device)
                .collect();
            let mut seqs: Vec<u64> = mine.iter().map(|s| s.entry.seq).collect();
            seqs.sort_unstable();
            let contiguous = seqs.first() == Some(&chain.first_seq)
                && seqs.last() == Some(&chain.last_seq)
                && seqs.windows(2).all(|w| w[1] == w[0] + 1);
            if seqs.len() as u64 != chain.count || !contiguous {
                verdict.mismatch(format!(
                    "device {n}, visit {}: stored {} entries at {:?}..{:?}, pushed {} at {}..{}",
                    chain.visit,
                    seqs.len(),
                    seqs.first(),
                    seqs.last(),
                    chain.count,
                    chain.first_seq,
                    chain.last_seq
                ));
                continue;
            }
            let refused = mine.iter().filter(|s| s.rejected.is_some()).count();
            if refused > 0 {
                verdict.mismatch(format!(
                    "device {n}, visit {}: {refused} entries refused",
                    chain.visit
                ));
                continue;
            }
            let head = mine.iter().find(|s| s.entry.seq == chain.last_seq);
            if head.map(|s| s.entry.hash.as_str()) != Some(chain.head_hash.as_str()) {
                verdict.mismatch(format!(
                    "device {n}, visit {}: the stored head is not the pushed one",
                    chain.visit
                ));
                continue;
            }
            verdict.entries += chain.count;
        }
    }
    Ok(verdict)
}

/// How many finished attachments a blob directory holds (files in its
/// two-hex-digit folders; uploads in progress and temporary files are
/// elsewhere).
pub fn blob_count(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .filter_map(|e| std::fs::read_dir(e.path()).ok())
        .map(|files| files.flatten().count() as u64)
        .sum()
}
