//! Fails every `error_every`-th call of `apply` with an error, panics every `panic_every`-th,
//! writes a key of its state on every call, logs a span and an event now and then.
use oplink::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

static CALLS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, serde::Deserialize)]
pub struct Config {
    pub error_every: u64,
    pub panic_every: u64,
    #[serde(default)]
    pub log_every: u64,
}

#[derive(Debug)]
pub struct Flaky {
    cfg: Config,
    seen: u64,
    ballast: Vec<u8>,
}

#[oplink::operator(name = "flaky", version = "0.1.0")]
impl Flaky {
    fn new(cfg: Config) -> Result<Self> {
        Ok(Flaky {
            cfg,
            seen: 0,
            ballast: vec![1; 4096],
        })
    }

    fn apply(&mut self, ctx: &mut Context, change: Change) -> Result<Change> {
        let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        let state = ctx.state()?;
        state.put(format!("k{}", n % 64).as_bytes(), &n.to_le_bytes())?;
        let span = (self.cfg.log_every != 0 && n.is_multiple_of(self.cfg.log_every))
            .then(|| tracing::info_span!("flaky_call", n));
        let _entered = span.as_ref().map(|s| s.enter());
        if span.is_some() {
            tracing::info!(n, "flaky logs");
        }
        if n.is_multiple_of(self.cfg.panic_every) {
            let msg = "x".repeat(200);
            panic!("flaky panics on call {n}: {msg}");
        }
        if n.is_multiple_of(self.cfg.error_every) {
            return Err(Error::msg(format!("flaky fails on call {n}")));
        }
        self.seen += 1;
        Ok(change)
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        let mut v = self.seen.to_le_bytes().to_vec();
        v.extend_from_slice(&self.ballast);
        Ok(v)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        if let Some((n, rest)) = snapshot.split_first_chunk::<8>() {
            self.seen = u64::from_le_bytes(*n);
            self.ballast = rest.to_vec();
        }
        Ok(())
    }
}
