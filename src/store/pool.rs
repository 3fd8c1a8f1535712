//! The connection pool's manager. r2d2's usual check — a `SELECT 1` on every
//! checkout — costs PostgreSQL a second round trip per request. Here a
//! connection is only checked after the pool has seen the database fail: a
//! query that fails for want of the database marks its connection broken
//! (dropped when it goes back) and starts a new epoch; connections from an
//! older epoch are pinged on their next checkout. In steady state nothing is
//! pinged, and after an outage no dead connection is handed out twice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::r2d2::{ConnectionManager, ManageConnection, R2D2Connection};

use super::StoreError;

pub struct Pooled<C> {
    pub conn: C,
    broken: bool,
    epoch: u64,
    current: Arc<AtomicU64>,
}

impl<C> Pooled<C> {
    /// Passes `result` through, remembering whether it says the database
    /// link failed.
    pub fn settle<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.as_ref().is_err_and(StoreError::is_unavailable) {
            self.broken = true;
            self.current.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

pub struct Manager<C: R2D2Connection + 'static> {
    inner: ConnectionManager<C>,
    epoch: Arc<AtomicU64>,
}

impl<C: R2D2Connection + 'static> Manager<C> {
    pub fn new(database_url: &str) -> Self {
        Self {
            inner: ConnectionManager::new(database_url),
            epoch: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<C: R2D2Connection + Send + 'static> ManageConnection for Manager<C> {
    type Connection = Pooled<C>;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled<C>, Self::Error> {
        self.inner.connect().map(|conn| Pooled {
            conn,
            broken: false,
            epoch: self.epoch.load(Ordering::Relaxed),
            current: self.epoch.clone(),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled<C>) -> Result<(), Self::Error> {
        let now = self.epoch.load(Ordering::Relaxed);
        if pooled.epoch != now {
            self.inner.is_valid(&mut pooled.conn)?;
            pooled.epoch = now;
        }
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled<C>) -> bool {
        pooled.broken || self.inner.has_broken(&mut pooled.conn)
    }
}
