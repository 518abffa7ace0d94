//! The buffer an answer is read into.
//!
//! An answer's body arrives in chunks (hundreds of KiB each from a large answer), copied
//! one after the other into one buffer. A large buffer is memory the allocator has just
//! mapped, and the copy's first write to each page of it costs the kernel a page fault:
//! an answer of 12 MB takes 3,000. On Linux the pages a chunk is about to fill are mapped
//! in one call before it is copied (`MADV_POPULATE_WRITE`): exactly the pages the copy
//! would fault in, so the memory used is the same. A client reading 700 MB of answers
//! spends 8% less CPU time so (BENCHMARKS.md).

/// Appends `chunk` to `body`, its room mapped in one call where that is worth it.
pub(crate) fn append(body: &mut Vec<u8>, chunk: &[u8]) {
    body.reserve(chunk.len());
    map_ahead(body, chunk.len());
    body.extend_from_slice(chunk);
}

/// Fewer bytes than this are left to fault in page by page: a call costs about as much as
/// a few faults.
#[cfg(target_os = "linux")]
const WORTH_MAPPING: usize = 64 << 10;

/// Maps the whole pages of `body`'s spare room within its next `len` bytes.
#[cfg(target_os = "linux")]
fn map_ahead(body: &mut Vec<u8>, len: usize) {
    if len < WORTH_MAPPING {
        return;
    }
    let page = page_size();
    let room = body.spare_capacity_mut();
    let start = room.as_mut_ptr() as usize;
    let from = start.next_multiple_of(page);
    let to = (start + len.min(room.len())) / page * page;
    if to > from {
        // SAFETY: `from..to` lies within `body`'s allocation, which `body` holds mutably;
        // MADV_POPULATE_WRITE maps pages that are not mapped yet, as a write would, and
        // changes no byte of the range. Its result is ignored: on a kernel that does not
        // know it (before 5.14), the copy faults the pages in as usual.
        unsafe {
            libc::madvise(
                from as *mut libc::c_void,
                to - from,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn map_ahead(_body: &mut Vec<u8>, _len: usize) {}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a system setting.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|s| s.is_power_of_two())
            .unwrap_or(4096)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_appended_whole_and_in_order_whatever_their_sizes() {
        let mut body = Vec::new();
        let mut expected = Vec::new();
        for (i, len) in [0, 1, 4095, 70_000, 1 << 20, 3, 300_001, 5 << 20]
            .into_iter()
            .enumerate()
        {
            let chunk: Vec<u8> = (0..len).map(|j| (i * 31 + j % 251) as u8).collect();
            append(&mut body, &chunk);
            expected.extend_from_slice(&chunk);
        }
        assert_eq!(body, expected);
    }

    /// The pages `append` maps are those the copy then fills: a buffer whose first
    /// megabytes are already written keeps them as they are.
    #[test]
    fn mapping_changes_nothing_already_written() {
        let mut body = Vec::with_capacity(8 << 20);
        body.extend(std::iter::repeat_n(9u8, 3 << 20));
        let chunk = vec![5u8; 2 << 20];
        append(&mut body, &chunk);
        assert!(body[..3 << 20].iter().all(|&b| b == 9));
        assert!(body[3 << 20..].iter().all(|&b| b == 5));
        assert_eq!(body.len(), 5 << 20);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_page_size_is_the_systems() {
        let page = page_size();
        assert!(page.is_power_of_two() && page >= 4096);
    }
}
