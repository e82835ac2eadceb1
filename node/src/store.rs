//! The validator's record: every result, the proofs it has seen and the weights it set, in an
//! embedded SQLite database (WAL mode: a `kill -9` loses at most the transaction in flight).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::scoring::Outcome;

/// A result with why it failed.
#[derive(Clone, Debug)]
pub struct Record {
    pub outcome: Outcome,
    pub kind: String,
    /// Why it failed (empty when verified).
    pub reason: String,
    /// Blake3 of the proof bytes, when there were any.
    pub proof_hash: Option<String>,
    /// The status the axon answered with, when it answered (not stored).
    pub status: Option<u16>,
}

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let label = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let db = Connection::open(path).map_err(|e| format!("{label}: {e}"))?;
        // The busy timeout first: another process (a `--show`, a restarted validator) may hold
        // the database while this one switches it to WAL and creates its tables.
        db.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| format!("{label}: {e}"))?;
        db.pragma_update(None, "journal_mode", "WAL").map_err(|e| format!("{label}: {e}"))?;
        db.pragma_update(None, "synchronous", "NORMAL").map_err(|e| format!("{label}: {e}"))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS results (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                uid INTEGER NOT NULL,
                hotkey TEXT NOT NULL,
                circuit TEXT NOT NULL,
                kind TEXT NOT NULL,
                verified INTEGER NOT NULL,
                reason TEXT NOT NULL,
                latency REAL NOT NULL,
                proof_bytes INTEGER NOT NULL,
                proof_hash TEXT
            );
            CREATE INDEX IF NOT EXISTS results_at ON results(at);
            CREATE TABLE IF NOT EXISTS seen_proofs (hash TEXT PRIMARY KEY, at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS weights (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                uids TEXT NOT NULL,
                weights TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS scores (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                uid INTEGER NOT NULL,
                hotkey TEXT NOT NULL,
                verified INTEGER NOT NULL,
                failed INTEGER NOT NULL,
                mean_latency REAL NOT NULL,
                work REAL NOT NULL,
                weight REAL NOT NULL
            );",
        )
        .map_err(|e| format!("{label}: {e}"))?;
        Ok(Self { db })
    }

    /// Records a result; a proof hash is remembered (see [`Store::first_sighting`]).
    pub fn record(&self, r: &Record) -> Result<(), String> {
        let o = &r.outcome;
        self.db
            .execute(
                "INSERT INTO results (at, uid, hotkey, circuit, kind, verified, reason, latency, proof_bytes, proof_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![o.at, o.uid, o.hotkey, o.circuit, r.kind, o.verified, r.reason, o.latency, o.proof_bytes as i64, r.proof_hash],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Remembers a proof's hash: `true` the first time, `false` if it was seen before (a
    /// replayed proof).
    pub fn first_sighting(&self, hash: &str, at: f64) -> Result<bool, String> {
        self.db.execute("INSERT OR IGNORE INTO seen_proofs (hash, at) VALUES (?1, ?2)", params![hash, at]).map(|n| n == 1).map_err(|e| e.to_string())
    }

    /// The results since `since` (Unix seconds), in time order.
    pub fn outcomes_since(&self, since: f64) -> Result<Vec<Outcome>, String> {
        let mut st = self
            .db
            .prepare_cached("SELECT at, uid, hotkey, circuit, verified, latency, proof_bytes FROM results WHERE at >= ?1 ORDER BY at, id")
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map(params![since], |r| {
                Ok(Outcome {
                    at: r.get(0)?,
                    uid: r.get(1)?,
                    hotkey: r.get(2)?,
                    circuit: r.get(3)?,
                    verified: r.get(4)?,
                    latency: r.get(5)?,
                    proof_bytes: r.get::<_, i64>(6)? as usize,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// How many results are stored.
    pub fn count(&self) -> Result<u64, String> {
        self.db.query_row("SELECT COUNT(*) FROM results", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(|e| e.to_string())
    }

    /// The last failure reason of each hotkey.
    pub fn last_reason(&self, hotkey: &str) -> Result<Option<String>, String> {
        self.db
            .query_row("SELECT reason FROM results WHERE hotkey = ?1 AND verified = 0 ORDER BY id DESC LIMIT 1", params![hotkey], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())
    }

    /// Records the miners' standings computed at `at` (one transaction).
    pub fn record_scores(&mut self, at: f64, standings: &[crate::scoring::Standing]) -> Result<(), String> {
        let tx = self.db.transaction().map_err(|e| e.to_string())?;
        for s in standings {
            tx.execute(
                "INSERT INTO scores (at, uid, hotkey, verified, failed, mean_latency, work, weight) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![at, s.uid, s.hotkey, s.verified as i64, s.failed as i64, s.mean_latency, s.work, s.weight],
            )
            .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// How many score rows are stored.
    pub fn score_rows(&self) -> Result<u64, String> {
        self.db.query_row("SELECT COUNT(*) FROM scores", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(|e| e.to_string())
    }

    /// Records the weights set at `at`.
    pub fn record_weights(&self, at: f64, uids: &[u16], weights: &[u16]) -> Result<(), String> {
        let j = |v: &[u16]| serde_json::to_string(v).expect("numbers");
        self.db.execute("INSERT INTO weights (at, uids, weights) VALUES (?1, ?2, ?3)", params![at, j(uids), j(weights)]).map(|_| ()).map_err(|e| e.to_string())
    }
}
