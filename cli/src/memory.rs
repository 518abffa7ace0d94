//! How the process asks its allocator for memory.
//!
//! An export holds a few access-history answers of up to about 12 MB each at once (one per
//! call under way, and the one being written). glibc's malloc serves a large block freed
//! once from its heap the next time, raising its mmap threshold as it goes, so buffers of
//! that size end up scattered over per-thread arenas that are not given back: peak RSS then
//! grows to several times what is live. A fixed threshold keeps every large buffer in its
//! own mapping, returned to the system when freed. No crate sets this, so it is done here.

/// Large allocations get their own mappings; freed memory goes back to the system.
pub fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 256 * 1024;
        // SAFETY: mallopt only sets allocator parameters; it is called once, before any
        // other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
    }
}
