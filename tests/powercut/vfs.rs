//! A SQLite VFS that simulates power loss, for the `powercut` test only.
//!
//! It wraps the real default VFS (`unix`) and plays the part of the kernel's
//! page cache: data written with `xWrite`/`xTruncate` is held in memory, one
//! cache per file name shared by every handle on that file (as the kernel
//! keeps one per inode), visible to `xRead`/`xFileSize` at once, and written
//! to the real file only when some handle on it calls `xSync`. A [`Disk`] is
//! one directory whose files this VFS models; [`Disk::cut`] is the power cut:
//!
//! - every write not yet synced is thrown away;
//! - files created since the directory was last synced disappear (see below);
//! - from then on every open, read, write, truncate, sync and delete on the
//!   disk fails, so the running server can acknowledge nothing new.
//!
//! After the cut the test reopens the real file with the `unix` VFS: what it
//! finds is exactly what had been synced before the cut.
//!
//! Directories: a new file's name survives power loss only once its directory
//! has been synced. SQLite's unix VFS syncs the directory in two places, which
//! this VFS mirrors: in the first `xSync` of a WAL or rollback journal it
//! opened with `SQLITE_OPEN_CREATE`, and in `xDelete` with `dirSync`. The main
//! database file gets no directory sync of its own; its name becomes durable
//! with the first such sync of its WAL (a directory sync covers every entry).
//!
//! Not modelled. Each would add disk states for SQLite's recovery to cope
//! with; none would let the server acknowledge data that was not synced.
//! - Partial write-back: a real kernel may have written back any subset of
//!   the unsynced pages, in any order, before the power went. Here none is.
//!   (So here a commit whose sync failed left nothing behind; on a real disk
//!   it may have, which is why a real power cut answers no request at all.)
//! - Torn sectors inside one write, and a sync interrupted half-way: a sync
//!   in progress when the cut comes completes first (the cut waits for it).
//! - A delete without `dirSync` is final at once; after a real power cut the
//!   file could come back. SQLite deletes without `dirSync` only a WAL it has
//!   fully checkpointed (closing the last connection): in the test, once at
//!   startup. Until the next WAL's first sync makes the deletion durable,
//!   nothing is checkpointed, so a resurrected WAL would only repeat pages
//!   the database file already holds.
//! - The WAL index (`-shm`) is passed through: it is shared memory, which
//!   does not survive power loss at all; the test deletes it before reopening.
//! - Temporary files (temp databases, statement journals) are passed through:
//!   nothing of them needs to survive.
//! - Memory-mapped I/O: `xFetch` never maps, so SQLite always reads through
//!   `xRead` and sees the unsynced data.

#![deny(unsafe_op_in_unsafe_fn)]

use std::collections::{BTreeSet, HashMap};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::time::Duration;

use libsqlite3_sys as ffi;

/// The name of the shim VFS (registered as the process default).
pub const NAME: &CStr = c"powercut";

/// Locks a mutex even if a panicking thread poisoned it: these functions are
/// called from C and must never unwind.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// The model, in safe Rust.
// ---------------------------------------------------------------------------

/// One change to a file that has not been synced yet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate(u64),
}

/// The unsynced changes to one file, in the order they were made.
#[derive(Debug, Default)]
struct Unsynced {
    changes: Vec<Change>,
}

impl Unsynced {
    fn write(&mut self, offset: u64, data: &[u8]) {
        // Appends are the common case (WAL frames): keep them as one change.
        if let Some(Change::Write {
            offset: at,
            data: held,
        }) = self.changes.last_mut()
        {
            if *at + held.len() as u64 == offset {
                held.extend_from_slice(data);
                return;
            }
        }
        self.changes.push(Change::Write {
            offset,
            data: data.to_vec(),
        });
    }

    fn truncate(&mut self, size: u64) {
        self.changes.push(Change::Truncate(size));
    }

    /// The size the process sees, given the size of the real file.
    fn size(&self, real_size: u64) -> u64 {
        self.changes
            .iter()
            .fold(real_size, |size, change| match change {
                Change::Write { offset, data } => size.max(offset + data.len() as u64),
                Change::Truncate(to) => *to,
            })
    }

    /// Lays the unsynced changes over `buf`, which holds the real file's
    /// bytes from `offset` on (zeros past its end, as `xRead` leaves them).
    fn overlay(&self, buf: &mut [u8], offset: u64) {
        let end = offset + buf.len() as u64;
        for change in &self.changes {
            match change {
                Change::Write { offset: at, data } => {
                    let from = offset.max(*at);
                    let to = end.min(at + data.len() as u64);
                    if from < to {
                        buf[(from - offset) as usize..(to - offset) as usize]
                            .copy_from_slice(&data[(from - at) as usize..(to - at) as usize]);
                    }
                }
                // Whatever lay past the new end is gone; if the file grows
                // again, the gap reads as zeros.
                Change::Truncate(to) if *to < end => {
                    buf[(offset.max(*to) - offset) as usize..].fill(0);
                }
                Change::Truncate(_) => {}
            }
        }
    }

    fn bytes(&self) -> u64 {
        self.changes
            .iter()
            .map(|c| match c {
                Change::Write { data, .. } => data.len() as u64,
                Change::Truncate(_) => 0,
            })
            .sum()
    }
}

/// The page cache of one file name: shared by all its handles, and kept after
/// the last one closes (closing a file does not flush it).
#[derive(Debug, Default)]
struct PageCache {
    unsynced: Mutex<Unsynced>,
}

#[derive(Debug, Default)]
struct DirState {
    caches: HashMap<String, Arc<PageCache>>,
    /// Files created since the directory was last synced.
    created_unsynced: BTreeSet<String>,
    open_handles: usize,
}

/// What a power cut threw away.
#[derive(Debug, Clone, Default)]
pub struct CutReport {
    pub discarded_changes: usize,
    pub discarded_bytes: u64,
    /// Files whose creation had not reached the directory yet.
    pub vanished_files: Vec<String>,
}

/// One directory of files that lose their unsynced data on [`Disk::cut`].
#[derive(Debug)]
pub struct Disk {
    dir: PathBuf,
    powered: AtomicBool,
    /// Writes to go before an armed cut; 0 when not armed.
    cut_after_writes: AtomicU64,
    state: Mutex<DirState>,
    closed: Condvar,
    cut_report: Mutex<Option<CutReport>>,
    syncs: AtomicU64,
    synced_bytes: AtomicU64,
}

/// The disks files may be opened on, by directory.
static DISKS: Mutex<Vec<Weak<Disk>>> = Mutex::new(Vec::new());

impl Disk {
    /// Models the files directly in `dir` from now on (until dropped).
    pub fn attach(dir: &Path) -> Arc<Disk> {
        let dir = dir.canonicalize().expect("canonical test directory");
        let disk = Arc::new(Disk {
            dir,
            powered: AtomicBool::new(true),
            cut_after_writes: AtomicU64::new(0),
            state: Mutex::default(),
            closed: Condvar::new(),
            cut_report: Mutex::default(),
            syncs: AtomicU64::new(0),
            synced_bytes: AtomicU64::new(0),
        });
        let mut disks = lock(&DISKS);
        disks.retain(|d| d.strong_count() > 0);
        disks.push(Arc::downgrade(&disk));
        disk
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn for_file(name: &str) -> Option<Arc<Disk>> {
        let dir = Path::new(name).parent()?;
        lock(&DISKS)
            .iter()
            .filter_map(Weak::upgrade)
            .find(|d| d.dir == dir)
    }

    fn powered(&self) -> bool {
        self.powered.load(SeqCst)
    }

    /// Cuts the power during the `writes`-th write to this disk from now
    /// (that write reaches the page cache, then the power goes): the cut
    /// lands inside a commit or a checkpoint, never between two.
    pub fn arm_cut(&self, writes: u64) {
        self.cut_after_writes.store(writes.max(1), SeqCst);
    }

    /// Counts one write; true for the write the armed cut waits for.
    fn count_write(&self) -> bool {
        self.cut_after_writes
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            == Ok(1)
    }

    /// The power cut. Idempotent.
    pub fn cut(&self) {
        if !self.powered.swap(false, SeqCst) {
            return;
        }
        let mut report = CutReport::default();
        let caches: Vec<_> = lock(&self.state).caches.values().cloned().collect();
        for cache in caches {
            // Waits for a sync in progress on this file: it completes first.
            let mut unsynced = lock(&cache.unsynced);
            report.discarded_changes += unsynced.changes.len();
            report.discarded_bytes += unsynced.bytes();
            unsynced.changes.clear();
        }
        // Taken after the caches: a sync that finished above has recorded
        // its directory sync by now.
        let mut state = lock(&self.state);
        for name in std::mem::take(&mut state.created_unsynced) {
            if std::fs::remove_file(&name).is_ok() {
                report.vanished_files.push(name);
            }
        }
        *lock(&self.cut_report) = Some(report);
    }

    /// What the cut threw away, once it is complete.
    pub fn cut_report(&self) -> Option<CutReport> {
        lock(&self.cut_report).clone()
    }

    pub fn is_cut(&self) -> bool {
        lock(&self.cut_report).is_some()
    }

    /// Successful syncs, and the bytes they wrote to the real files.
    pub fn synced(&self) -> (u64, u64) {
        (self.syncs.load(SeqCst), self.synced_bytes.load(SeqCst))
    }

    /// Waits until no handle on this disk is open, at most `timeout`;
    /// returns how many are still open.
    pub fn wait_until_closed(&self, timeout: Duration) -> usize {
        let state = lock(&self.state);
        let (state, _) = self
            .closed
            .wait_timeout_while(state, timeout, |s| s.open_handles > 0)
            .unwrap_or_else(PoisonError::into_inner);
        state.open_handles
    }

    fn directory_synced(&self) {
        lock(&self.state).created_unsynced.clear();
    }
}

// ---------------------------------------------------------------------------
// The FFI layer: the VFS and its io_methods.
// ---------------------------------------------------------------------------

/// What SQLite allocates for one open file (`szOsFile` bytes): our header,
/// then the real VFS's file object at [`REAL_OFFSET`].
#[repr(C)]
struct ShimFile {
    /// Must come first: SQLite only knows the file as a `sqlite3_file`.
    base: ffi::sqlite3_file,
    /// Set by a successful `xOpen`, freed by `xClose`.
    handle: *mut Handle,
}

/// SQLite allocates file objects 8-byte aligned; the real file stays so.
const REAL_OFFSET: usize = std::mem::size_of::<ShimFile>().next_multiple_of(8);

struct Handle {
    /// `None` for files with nothing to survive (temporary files): those are
    /// passed straight through.
    durable: Option<Durable>,
}

struct Durable {
    disk: Arc<Disk>,
    cache: Arc<PageCache>,
    /// The unix VFS syncs the directory in the first `xSync` of a journal or
    /// WAL it opened with `SQLITE_OPEN_CREATE` (`UNIXFILE_DIRSYNC`).
    dir_sync_pending: AtomicBool,
}

/// Registers the shim as the process's default VFS (once). Must run before
/// the first connection is opened.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_vfs_find initialises SQLite if needed and returns
        // the registered default VFS, which lives as long as the process.
        let real = unsafe { ffi::sqlite3_vfs_find(ptr::null()) };
        assert!(!real.is_null(), "SQLite has no default VFS");
        // SAFETY: `real` is a valid, registered VFS, never freed.
        let real_ref = unsafe { &*real };
        // SAFETY: zName of a registered VFS is a NUL-terminated string.
        let real_name = unsafe { CStr::from_ptr(real_ref.zName) };
        assert_eq!(real_name, c"unix", "the test reopens files with vfs=unix");
        let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
            // Version 2: no xSetSystemCall & co. (only SQLite's own test
            // harness uses them).
            iVersion: 2,
            szOsFile: c_int::try_from(REAL_OFFSET).expect("small") + real_ref.szOsFile,
            mxPathname: real_ref.mxPathname,
            pNext: ptr::null_mut(),
            zName: NAME.as_ptr(),
            pAppData: real.cast(),
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            // Loadable extensions are never used by the server.
            xDlOpen: None,
            xDlError: None,
            xDlSym: None,
            xDlClose: None,
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        // SAFETY: `vfs` is leaked, so it outlives every connection; SQLite
        // only links it into its list.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
        assert_eq!(rc, ffi::SQLITE_OK, "register the powercut VFS");
    });
}

static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 3: xShm* (WAL) and xFetch/xUnfetch, the latter never mapping.
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

/// The real VFS, kept in our VFS's `pAppData` by [`install`].
///
/// # Safety
/// `vfs` must be the shim VFS (SQLite passes it to every VFS method).
unsafe fn real_vfs(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    // SAFETY: the caller passes our VFS, whose pAppData is the real VFS.
    unsafe { (*vfs).pAppData.cast() }
}

/// Calls the real VFS's method `$m`, with the real VFS as first argument.
/// Only for use in our VFS methods, with the arguments SQLite gave them.
macro_rules! real_vfs_call {
    ($vfs:expr, $m:ident $(, $arg:expr)*) => {{
        // SAFETY: `$vfs` is our VFS (see `real_vfs`); the real VFS lives as
        // long as the process; the arguments are SQLite's, as SQLite
        // guarantees them to any VFS.
        unsafe {
            let real = real_vfs($vfs);
            match (*real).$m {
                Some(f) => f(real $(, $arg)*),
                None => ffi::SQLITE_ERROR,
            }
        }
    }};
}

/// The real VFS's file object inside ours (no dereference).
fn real_file(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // In bounds: SQLite allocated REAL_OFFSET + the real szOsFile bytes.
    file.cast::<u8>().wrapping_add(REAL_OFFSET).cast()
}

/// A file our `xOpen` opened and SQLite has not closed yet: what every io
/// method receives. The invariant is asserted once, by [`OpenFile::new`].
#[derive(Clone, Copy)]
struct OpenFile(*mut ffi::sqlite3_file);

/// Calls the real file's io method `$m` on an [`OpenFile`].
macro_rules! real_call {
    ($file:expr, $m:ident $(, $arg:expr)*) => {{
        let real = OpenFile::real($file);
        // SAFETY: an OpenFile's real file is open, so its pMethods is valid;
        // the arguments are SQLite's (valid as SQLite guarantees them to any
        // VFS) or buffers we own that outlive the call.
        unsafe {
            match (*(*real).pMethods).$m {
                Some(f) => f(real $(, $arg)*),
                None => ffi::SQLITE_IOERR,
            }
        }
    }};
}

impl OpenFile {
    /// # Safety
    /// `file` must have been opened successfully by `x_open` and not yet
    /// passed to `x_close`. SQLite calls io methods only on such files.
    unsafe fn new(file: *mut ffi::sqlite3_file) -> Self {
        OpenFile(file)
    }

    fn real(self) -> *mut ffi::sqlite3_file {
        real_file(self.0)
    }

    fn handle(&self) -> &Handle {
        // SAFETY: x_open set the handle before handing the file to SQLite;
        // x_close frees it, and no io method runs after that.
        unsafe { &*(*self.0.cast::<ShimFile>()).handle }
    }

    /// The modelled state, or `None` for a passed-through file.
    fn durable(&self) -> Option<&Durable> {
        self.handle().durable.as_ref()
    }

    fn real_size(self) -> Result<u64, c_int> {
        let mut size: ffi::sqlite3_int64 = 0;
        let rc = real_call!(self, xFileSize, &mut size);
        if rc == ffi::SQLITE_OK {
            Ok(u64::try_from(size).unwrap_or(0))
        } else {
            Err(rc)
        }
    }

    /// Writes the unsynced changes to the real file, oldest first.
    fn write_back(self, unsynced: &mut Unsynced) -> c_int {
        // The unix VFS writes at most 0x1ffff bytes per call (it masks the
        // length); SQLite itself never asks for more than a page and a header.
        const CHUNK: usize = 1 << 16;
        let mut done = 0;
        let mut rc = ffi::SQLITE_OK;
        'changes: for change in &unsynced.changes {
            match change {
                Change::Write { offset, data } => {
                    for (i, chunk) in data.chunks(CHUNK).enumerate() {
                        let at = (*offset + (i * CHUNK) as u64) as i64;
                        let (buf, len) = (chunk.as_ptr().cast(), chunk.len() as c_int);
                        rc = real_call!(self, xWrite, buf, len, at);
                        if rc != ffi::SQLITE_OK {
                            break 'changes;
                        }
                    }
                }
                Change::Truncate(to) => {
                    rc = real_call!(self, xTruncate, *to as i64);
                    if rc != ffi::SQLITE_OK {
                        break 'changes;
                    }
                }
            }
            done += 1;
        }
        unsynced.changes.drain(..done);
        rc
    }
}

const FILE_KINDS: c_int = ffi::SQLITE_OPEN_MAIN_DB
    | ffi::SQLITE_OPEN_TEMP_DB
    | ffi::SQLITE_OPEN_TRANSIENT_DB
    | ffi::SQLITE_OPEN_MAIN_JOURNAL
    | ffi::SQLITE_OPEN_TEMP_JOURNAL
    | ffi::SQLITE_OPEN_SUBJOURNAL
    | ffi::SQLITE_OPEN_SUPER_JOURNAL
    | ffi::SQLITE_OPEN_WAL;

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: `file` points to szOsFile writable bytes, 8-byte aligned.
    // xOpen must leave pMethods NULL on failure, so it is cleared first.
    unsafe {
        file.cast::<ShimFile>().write(ShimFile {
            base: ffi::sqlite3_file {
                pMethods: ptr::null(),
            },
            handle: ptr::null_mut(),
        });
    }
    let name = (!z_name.is_null()).then(|| {
        // SAFETY: a non-NULL zName is NUL-terminated (URI parameters follow
        // after that NUL; CStr stops before them).
        unsafe { CStr::from_ptr(z_name) }
            .to_string_lossy()
            .into_owned()
    });
    let kind = flags & FILE_KINDS;
    let must_survive = matches!(
        kind,
        ffi::SQLITE_OPEN_MAIN_DB
            | ffi::SQLITE_OPEN_MAIN_JOURNAL
            | ffi::SQLITE_OPEN_SUPER_JOURNAL
            | ffi::SQLITE_OPEN_WAL
    );
    let on_disk = name
        .filter(|_| must_survive)
        .and_then(|name| Some((Disk::for_file(&name)?, name)));
    let real = real_file(file);
    let open_real = || {
        let rc = real_vfs_call!(vfs, xOpen, z_name, real, flags, out_flags);
        // SAFETY: the real xOpen left the real file's pMethods NULL or valid.
        let methods = unsafe { (*real).pMethods.as_ref() };
        if let (false, Some(close)) = (rc == ffi::SQLITE_OK, methods.and_then(|m| m.xClose)) {
            // SQLite requires NULL pMethods after a failed open; be safe if not.
            // SAFETY: the real file is open enough to be closed.
            unsafe { close(real) };
        }
        rc
    };
    let durable = match on_disk {
        None => {
            let rc = open_real();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            None
        }
        Some((disk, name)) => {
            let mut state = lock(&disk.state);
            if !disk.powered() {
                return ffi::SQLITE_CANTOPEN;
            }
            let existed = Path::new(&name).exists();
            let rc = open_real();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            let create = flags & ffi::SQLITE_OPEN_CREATE != 0;
            if create && !existed {
                state.created_unsynced.insert(name.clone());
            }
            let cache = state.caches.entry(name).or_default().clone();
            state.open_handles += 1;
            drop(state);
            Some(Durable {
                disk,
                cache,
                dir_sync_pending: AtomicBool::new(create && kind != ffi::SQLITE_OPEN_MAIN_DB),
            })
        }
    };
    let handle = Box::into_raw(Box::new(Handle { durable }));
    // SAFETY: as above. From here on SQLite owns an open file and will call
    // xClose on it.
    unsafe {
        (*file.cast::<ShimFile>()).handle = handle;
        (*file).pMethods = &IO_METHODS;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes only files x_open opened, once.
    let open = unsafe { OpenFile::new(file) };
    let rc = real_call!(open, xClose);
    // SAFETY: the handle was boxed by x_open and is freed exactly once, here;
    // SQLite calls nothing on this file after xClose.
    let handle = unsafe {
        let shim = file.cast::<ShimFile>();
        Box::from_raw(std::mem::replace(&mut (*shim).handle, ptr::null_mut()))
    };
    if let Some(durable) = handle.durable {
        let disk = durable.disk;
        lock(&disk.state).open_handles -= 1;
        disk.closed.notify_all();
    }
    rc
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    let file = unsafe { OpenFile::new(file) };
    let Some(durable) = file.durable() else {
        return real_call!(file, xRead, buf, amount, offset);
    };
    if !durable.disk.powered() {
        return ffi::SQLITE_IOERR_READ;
    }
    let unsynced = lock(&durable.cache.unsynced);
    if unsynced.changes.is_empty() {
        return real_call!(file, xRead, buf, amount, offset);
    }
    let real_size = match file.real_size() {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    // Past the real end, the real xRead zero-fills and says SHORT_READ.
    let rc = real_call!(file, xRead, buf, amount, offset);
    if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_IOERR_SHORT_READ {
        return rc;
    }
    // SAFETY: SQLite's buffer holds `amount` bytes (a non-negative int).
    let bytes = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), amount as usize) };
    let offset = offset as u64;
    unsynced.overlay(bytes, offset);
    if offset + bytes.len() as u64 > unsynced.size(real_size) {
        ffi::SQLITE_IOERR_SHORT_READ
    } else {
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    let file = unsafe { OpenFile::new(file) };
    let Some(durable) = file.durable() else {
        return real_call!(file, xWrite, buf, amount, offset);
    };
    let disk = &durable.disk;
    let last_before_cut = disk.count_write();
    {
        let mut unsynced = lock(&durable.cache.unsynced);
        if !disk.powered() {
            return ffi::SQLITE_IOERR_WRITE;
        }
        // SAFETY: SQLite's buffer holds `amount` bytes (a non-negative int).
        let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), amount as usize) };
        unsynced.write(offset as u64, data);
    }
    if last_before_cut {
        // Not under the cache lock: the cut takes every cache's lock.
        disk.cut();
        return ffi::SQLITE_IOERR_WRITE;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    let file = unsafe { OpenFile::new(file) };
    let Some(durable) = file.durable() else {
        return real_call!(file, xTruncate, size);
    };
    let mut unsynced = lock(&durable.cache.unsynced);
    if !durable.disk.powered() {
        return ffi::SQLITE_IOERR_TRUNCATE;
    }
    unsynced.truncate(size.max(0) as u64);
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    let file = unsafe { OpenFile::new(file) };
    let Some(durable) = file.durable() else {
        return real_call!(file, xSync, flags);
    };
    let disk = &durable.disk;
    // Held throughout: a cut waits for this sync to complete, or refuses it.
    let mut unsynced = lock(&durable.cache.unsynced);
    if !disk.powered() {
        return ffi::SQLITE_IOERR_FSYNC;
    }
    let bytes = unsynced.bytes();
    let rc = file.write_back(&mut unsynced);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let rc = real_call!(file, xSync, flags);
    if rc == ffi::SQLITE_OK {
        disk.syncs.fetch_add(1, SeqCst);
        disk.synced_bytes.fetch_add(bytes, SeqCst);
        if durable.dir_sync_pending.swap(false, SeqCst) {
            disk.directory_synced();
        }
    }
    rc
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    let file = unsafe { OpenFile::new(file) };
    let Some(durable) = file.durable() else {
        return real_call!(file, xFileSize, size);
    };
    if !durable.disk.powered() {
        return ffi::SQLITE_IOERR_FSTAT;
    }
    let unsynced = lock(&durable.cache.unsynced);
    match file.real_size() {
        Ok(real) => {
            // SAFETY: SQLite passes a valid out pointer.
            unsafe { *size = unsynced.size(real) as i64 };
            ffi::SQLITE_OK
        }
        Err(rc) => rc,
    }
}

// Locks, file controls, sector size, device characteristics and the WAL
// index (shared memory) are the real file's.

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xLock, level)
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xUnlock, level)
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xCheckReservedLock, out)
}

/// Passed through. None of the real file's controls writes file content:
/// SIZE_HINT only preallocates (and only with a chunk size, which nothing
/// sets), MMAP_SIZE only sizes a mapping `xFetch` never uses.
unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xFileControl, op, arg)
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xSectorSize)
}

/// The real file's characteristics (POWERSAFE_OVERWRITE on unix) hold for
/// this model too: a write never damages bytes outside itself.
unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xDeviceCharacteristics)
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(
        unsafe { OpenFile::new(file) },
        xShmMap,
        region,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xShmLock, offset, n, flags)
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    let real = real_file(file);
    // SAFETY: SQLite calls io methods only on files x_open opened, whose
    // real file is open with valid pMethods.
    unsafe {
        if let Some(barrier) = (*(*real).pMethods).xShmBarrier {
            barrier(real);
        }
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: SQLite calls io methods only on files x_open opened.
    real_call!(unsafe { OpenFile::new(file) }, xShmUnmap, delete)
}

/// Never maps: a mapping of the real file would bypass the unsynced data.
/// SQLite then reads the page with xRead.
unsafe extern "C" fn x_fetch(
    _file: *mut ffi::sqlite3_file,
    _offset: ffi::sqlite3_int64,
    _amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes a valid out pointer.
    unsafe { *out = ptr::null_mut() };
    ffi::SQLITE_OK
}

/// Nothing was ever mapped, so there is nothing to release.
unsafe extern "C" fn x_unfetch(
    _file: *mut ffi::sqlite3_file,
    _offset: ffi::sqlite3_int64,
    _page: *mut c_void,
) -> c_int {
    ffi::SQLITE_OK
}

// The VFS's own methods: xDelete takes part in the model, the rest is the
// real VFS's.

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    dir_sync: c_int,
) -> c_int {
    // SAFETY: SQLite passes a NUL-terminated path.
    let name = unsafe { CStr::from_ptr(z_name) }.to_string_lossy();
    let Some(disk) = Disk::for_file(&name) else {
        return real_vfs_call!(vfs, xDelete, z_name, dir_sync);
    };
    let mut state = lock(&disk.state);
    if !disk.powered() {
        return ffi::SQLITE_IOERR_DELETE;
    }
    let rc = real_vfs_call!(vfs, xDelete, z_name, dir_sync);
    if rc == ffi::SQLITE_OK || rc == ffi::SQLITE_IOERR_DELETE_NOENT {
        // Handles still open keep the old cache, as they keep the old inode.
        state.caches.remove(&*name);
        state.created_unsynced.remove(&*name);
        if rc == ffi::SQLITE_OK && dir_sync & 1 != 0 {
            state.created_unsynced.clear();
        }
    }
    rc
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    real_vfs_call!(vfs, xAccess, z_name, flags, out)
}

unsafe extern "C" fn x_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    real_vfs_call!(vfs, xFullPathname, z_name, n, out)
}

unsafe extern "C" fn x_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    real_vfs_call!(vfs, xRandomness, n, out)
}

unsafe extern "C" fn x_sleep(vfs: *mut ffi::sqlite3_vfs, microseconds: c_int) -> c_int {
    real_vfs_call!(vfs, xSleep, microseconds)
}

unsafe extern "C" fn x_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    real_vfs_call!(vfs, xCurrentTime, out)
}

unsafe extern "C" fn x_get_last_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    real_vfs_call!(vfs, xGetLastError, n, out)
}

unsafe extern "C" fn x_current_time_int64(
    vfs: *mut ffi::sqlite3_vfs,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    real_vfs_call!(vfs, xCurrentTimeInt64, out)
}

#[cfg(test)]
mod tests {
    use super::{Change, Unsynced};

    fn read(unsynced: &Unsynced, real: &[u8], offset: u64, len: usize) -> (Vec<u8>, u64) {
        let mut buf = vec![0; len];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = real.get(offset as usize + i).copied().unwrap_or(0);
        }
        unsynced.overlay(&mut buf, offset);
        (buf, unsynced.size(real.len() as u64))
    }

    #[test]
    fn unsynced_writes_overlay_the_real_bytes() {
        let mut u = Unsynced::default();
        u.write(2, b"ab");
        u.write(4, b"cd"); // an append: merged
        assert_eq!(
            u.changes,
            vec![Change::Write {
                offset: 2,
                data: b"abcd".to_vec()
            }]
        );
        u.write(3, b"X");
        assert_eq!(read(&u, b"0123456789", 0, 10), (b"01aXcd6789".to_vec(), 10));
        assert_eq!(read(&u, b"01", 0, 8), (b"01aXcd\0\0".to_vec(), 6));
    }

    #[test]
    fn truncation_hides_what_lay_beyond_even_if_the_file_grows_again() {
        let mut u = Unsynced::default();
        u.truncate(3);
        assert_eq!(read(&u, b"0123456789", 0, 6), (b"012\0\0\0".to_vec(), 3));
        u.write(5, b"Z");
        assert_eq!(read(&u, b"0123456789", 0, 8), (b"012\0\0Z\0\0".to_vec(), 6));
        assert_eq!(u.bytes(), 1);
    }
}
