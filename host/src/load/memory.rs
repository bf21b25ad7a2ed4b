//! The memory of a loaded library, as the validator may read it: only inside the library's
//! own mapped segments, and only what was asked for.

/// Read access to the memory behind a library's header. The validator reads nothing else.
pub trait Memory {
    /// The `len` bytes at `addr`, when all of them lie inside one readable segment.
    fn read(&self, addr: usize, len: usize) -> Option<&[u8]>;
    /// Whether `addr` lies inside an executable segment (where a function may start).
    fn is_code(&self, addr: usize) -> bool;
}

/// One mapped segment of a library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// Mapped readable.
    pub readable: bool,
    /// Mapped executable.
    pub executable: bool,
}

/// The segments of one loaded library, from the dynamic loader's own records.
#[derive(Debug, Default)]
pub struct SegmentMap {
    segments: Vec<Segment>,
}

impl SegmentMap {
    /// A map of these segments.
    pub fn new(segments: Vec<Segment>) -> SegmentMap {
        SegmentMap { segments }
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    fn containing(&self, addr: usize, len: usize) -> Option<&Segment> {
        let end = addr.checked_add(len)?;
        self.segments
            .iter()
            .find(|s| s.start <= addr && end <= s.end)
    }
}

impl Memory for SegmentMap {
    fn read(&self, addr: usize, len: usize) -> Option<&[u8]> {
        let segment = self.containing(addr, len)?;
        if !segment.readable || addr == 0 {
            return None;
        }
        if len == 0 {
            return Some(&[]);
        }
        // SAFETY: the range lies inside a readable segment of a library that is mapped for
        // the life of the process (libraries are never unloaded), so the bytes can be read
        // for as long as the map is borrowed.
        Some(unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
    }

    fn is_code(&self, addr: usize) -> bool {
        self.containing(addr, 1).is_some_and(|s| s.executable)
    }
}

/// Memory made of byte buffers at chosen addresses: what the validator's tests and fuzzing
/// hand it instead of a loaded library.
#[derive(Debug, Default)]
pub struct FakeMemory {
    regions: Vec<(usize, Vec<u8>, bool)>,
}

impl FakeMemory {
    /// Maps `bytes` at `addr`, executable or not.
    pub fn map(&mut self, addr: usize, bytes: Vec<u8>, executable: bool) {
        self.regions.push((addr, bytes, executable));
    }

    /// The bytes mapped at `addr`, to change them.
    pub fn bytes_mut(&mut self, addr: usize) -> Option<&mut Vec<u8>> {
        self.regions
            .iter_mut()
            .find(|(start, _, _)| *start == addr)
            .map(|(_, bytes, _)| bytes)
    }
}

impl Memory for FakeMemory {
    fn read(&self, addr: usize, len: usize) -> Option<&[u8]> {
        let end = addr.checked_add(len)?;
        self.regions.iter().find_map(|(start, bytes, _)| {
            (addr != 0 && *start <= addr && end <= start + bytes.len())
                .then(|| &bytes[addr - start..end - start])
        })
    }

    fn is_code(&self, addr: usize) -> bool {
        self.regions
            .iter()
            .any(|(start, bytes, code)| *code && *start <= addr && addr < start + bytes.len())
    }
}

/// The segments of the library whose dynamic-loader handle is `handle`.
///
/// # Safety
/// `handle` is a live handle returned by `dlopen`.
#[cfg(target_os = "linux")]
pub unsafe fn segments_of(handle: *mut std::ffi::c_void) -> Option<SegmentMap> {
    use std::ffi::{CStr, c_char, c_int, c_void};

    // The first fields of glibc's and musl's `struct link_map` (<link.h>).
    #[repr(C)]
    struct LinkMap {
        l_addr: usize,
        l_name: *const c_char,
    }

    struct Search {
        base: usize,
        name: Vec<u8>,
        found: Option<Vec<Segment>>,
    }

    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: the loader passes a valid `info` for the call, and `data` is our `Search`.
        let (info, search) = unsafe { (&*info, &mut *data.cast::<Search>()) };
        let name = if info.dlpi_name.is_null() {
            &[][..]
        } else {
            // SAFETY: a NUL-terminated name owned by the loader, valid for the call.
            unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes()
        };
        if info.dlpi_addr as usize != search.base || name != search.name {
            return 0;
        }
        let headers = if info.dlpi_phdr.is_null() {
            &[][..]
        } else {
            // SAFETY: the loader's program headers of this object, `dlpi_phnum` of them.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
        };
        let segments = headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD)
            .map(|h| Segment {
                start: search.base.wrapping_add(h.p_vaddr as usize),
                end: search
                    .base
                    .wrapping_add(h.p_vaddr as usize)
                    .wrapping_add(h.p_memsz as usize),
                readable: h.p_flags & libc::PF_R != 0,
                executable: h.p_flags & libc::PF_X != 0,
            })
            .collect();
        search.found = Some(segments);
        1
    }

    let mut map: *mut LinkMap = std::ptr::null_mut();
    // SAFETY: `handle` is a live handle from `dlopen`; RTLD_DI_LINKMAP writes a pointer to the
    // library's `link_map`, which lives as long as the handle.
    let status = unsafe {
        libc::dlinfo(
            handle,
            libc::RTLD_DI_LINKMAP,
            (&mut map as *mut *mut LinkMap).cast(),
        )
    };
    if status != 0 || map.is_null() {
        return None;
    }
    // SAFETY: the loader's `link_map` of this library, alive with the handle.
    let (base, name) = unsafe {
        let map = &*map;
        let name = if map.l_name.is_null() {
            Vec::new()
        } else {
            CStr::from_ptr(map.l_name).to_bytes().to_vec()
        };
        (map.l_addr, name)
    };
    let mut search = Search {
        base,
        name,
        found: None,
    };
    // SAFETY: `visit` keeps `dl_iterate_phdr`'s contract and `search` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut search as *mut Search).cast()) };
    search.found.map(SegmentMap::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stay_inside_one_segment() {
        let map = SegmentMap::new(vec![Segment {
            start: 0x1000,
            end: 0x1000 + 16,
            readable: false,
            executable: true,
        }]);
        assert!(map.read(0x1000, 4).is_none(), "not readable");
        assert!(map.is_code(0x100f));
        assert!(!map.is_code(0x1010));
        let mut fake = FakeMemory::default();
        fake.map(0x2000, vec![1, 2, 3, 4], false);
        assert_eq!(fake.read(0x2001, 2), Some(&[2, 3][..]));
        assert_eq!(fake.read(0x2003, 2), None);
        assert_eq!(fake.read(usize::MAX, 2), None);
    }
}
