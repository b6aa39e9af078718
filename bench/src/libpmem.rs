//! PMDK's libpmem (1.12.1 on Debian 12), through FFI: the library people would otherwise use.
//!
//! Linked from the system (`-lpmem`, Debian package `libpmem-dev`). libpmem reads its
//! environment once, when it is loaded (`PMEM_NO_CLWB`, `PMEM_NO_CLFLUSHOPT`, `PMEM_NO_MOVNT`,
//! `PMEM_MOVNT_THRESHOLD`, `PMEM_AVX`, `PMEM_AVX512F`, `PMEM_MOVDIR64B`, `PMEM_NO_FLUSH`,
//! ...); [`overrides`] lists those set in this process so the report can say the run used its
//! defaults.

use core::ffi::{c_char, c_int, c_uint, c_void};

/// `PMEM_F_MEM_NONTEMPORAL`: force non-temporal stores.
pub const F_MEM_NONTEMPORAL: c_uint = 1 << 1;
/// `PMEM_F_MEM_TEMPORAL`: force temporal stores (then a flush of every line).
pub const F_MEM_TEMPORAL: c_uint = 1 << 2;

#[link(name = "pmem")]
unsafe extern "C" {
    pub fn pmem_persist(addr: *const c_void, len: usize);
    pub fn pmem_flush(addr: *const c_void, len: usize);
    pub fn pmem_drain();
    pub fn pmem_has_auto_flush() -> c_int;
    pub fn pmem_has_hw_drain() -> c_int;
    pub fn pmem_memcpy_persist(dst: *mut c_void, src: *const c_void, len: usize) -> *mut c_void;
    pub fn pmem_memset_persist(dst: *mut c_void, c: c_int, len: usize) -> *mut c_void;
    pub fn pmem_memcpy(
        dst: *mut c_void,
        src: *const c_void,
        len: usize,
        flags: c_uint,
    ) -> *mut c_void;
    pub fn pmem_memset(dst: *mut c_void, c: c_int, len: usize, flags: c_uint) -> *mut c_void;
    pub fn pmem_check_version(major: c_uint, minor: c_uint) -> *const c_char;
}

/// The environment variables libpmem 1.12 reads that are set in this process.
pub fn overrides() -> Vec<String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("PMEM_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// One line on what libpmem will do here: whether it thinks CPU caches are persistent (then
/// it would skip flushes and the comparison would be meaningless), and its version check.
pub fn describe() -> String {
    // SAFETY: plain queries without arguments; libpmem is initialised when it is loaded.
    let (auto_flush, hw_drain) = unsafe { (pmem_has_auto_flush(), pmem_has_hw_drain()) };
    // SAFETY: asks for major version 1, which 1.12 is; a null return means "compatible".
    let version = unsafe { pmem_check_version(1, 0) };
    let version = if version.is_null() {
        "compatible with 1.0".to_owned()
    } else {
        // SAFETY: libpmem returns a NUL-terminated static message.
        unsafe { std::ffi::CStr::from_ptr(version) }
            .to_string_lossy()
            .into_owned()
    };
    let overrides = overrides();
    format!(
        "libpmem ({version}): pmem_has_auto_flush() = {auto_flush}, pmem_has_hw_drain() = \
         {hw_drain}, environment overrides: {}",
        if overrides.is_empty() {
            "none".to_owned()
        } else {
            overrides.join(" ")
        }
    )
}
