//! The allocator's settings for a process that proves (or verifies) once and exits.
//!
//! A proof allocates and frees gigabytes of extensions, trees and quotient chunks, round after
//! round. By default mimalloc hands freed memory back to the kernel after 10 ms, so the next
//! round faults it in and zeroes it again, 4 KiB at a time: on this project's 2-vCPU machine
//! the MAC chain at 2^20 rows spent 0.5–1.8 s of system time beside 3.4–3.7 s of user time.
//! Keeping freed memory for the process (it exits after one proof) and backing mimalloc's
//! arenas with transparent huge pages where the kernel allows them (one fault per 2 MiB) took
//! it to 0.25–0.45 s (`benches/models.py` reports user and system time; README, Benchmarks).
//! The long-running commands (miner, validator, devnet) keep mimalloc's defaults, which return
//! memory between requests. An explicit `MIMALLOC_PURGE_DELAY` or `MIMALLOC_ALLOW_LARGE_OS_PAGES`
//! in the environment wins.

// mimalloc's options are set through its C API: two stores of an option value.
#![allow(unsafe_code)]

use std::os::raw::c_long;

/// `mi_option_allow_large_os_pages` in mimalloc's `mi_option_e` (v2 and v3 alike).
const ALLOW_LARGE_OS_PAGES: i32 = 6;
/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3 alike).
const PURGE_DELAY: i32 = 15;

unsafe extern "C" {
    /// mimalloc's `void mi_option_set(mi_option_t option, long value)`.
    fn mi_option_set(option: i32, value: c_long);
}

/// Configures the allocator for a one-shot command (see the module's docs).
pub fn for_one_shot() {
    let set = |name: &str, option: i32, value: c_long| {
        if std::env::var_os(name).is_none() {
            // SAFETY: `mi_option_set` stores a value in mimalloc's option table (valid for any
            // option index below `_mi_option_last` and any value, at any time, from any
            // thread); the allocator reads it when it next needs memory from the OS or frees
            // some.
            unsafe { mi_option_set(option, value) }
        }
    };
    set("MIMALLOC_PURGE_DELAY", PURGE_DELAY, -1);
    set("MIMALLOC_ALLOW_LARGE_OS_PAGES", ALLOW_LARGE_OS_PAGES, 1);
}
