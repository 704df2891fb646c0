/// mimalloc instead of the system allocator: the draw's parallel passes free most of what they
/// allocate, and glibc's per-thread arenas kept it (ARCHITECTURE.md, dependencies). Its version 2
/// (the `v2` feature): version 3 gives freed memory back to the system a second later, when the
/// thread that made it next allocates, which held a national draw 200 MiB above its use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` and `mi_option_purge_delay` (the 5th and 16th of
/// `mi_option_e` in the `mimalloc.h` of libmimalloc-sys 0.1.49; the test below checks that they
/// name the options whose defaults are 2 and 10).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory a thread frees is given back to the system at once, not 10 ms later, and arenas are
/// committed as they are used: the draw's phases and the documents written beside its recording
/// free hundreds of megabytes that the next would otherwise find still held (a national draw
/// peaked at 516 MiB, 416-468 MiB with these; benches/README.md). An option set in the
/// environment (`MIMALLOC_PURGE_DELAY`, `MIMALLOC_ARENA_EAGER_COMMIT`, read by mimalloc when
/// the process starts) is left as given.
#[allow(unsafe_code)]
fn tune_allocator() {
    for (option, name, value) in [
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: a plain setter of mimalloc's option table, called before any other
            // thread runs.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
    no_huge_pages();
}

/// No transparent huge pages for this process (what `MIMALLOC_ALLOW_THP=0` asks of mimalloc
/// as the process starts; left to it when that is set). mimalloc asks for them over its arenas,
/// and the memory it gives back at once (above) is then faulted in again two megabytes at a
/// time, each zeroed whole: a national `verify` spent 2.2 s of system time against 1.6 s
/// without them, and peaked 45 MiB higher (benches/README.md).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn no_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: sets a flag of this process that later page faults read; no memory is
        // touched. A kernel without it returns an error, and the process goes on as before.
        let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

#[cfg(not(target_os = "linux"))]
fn no_huge_pages() {}

fn main() {
    tune_allocator();
    std::process::exit(suiji::cli::main());
}

#[cfg(test)]
mod tests {
    /// The option numbers name the options meant: their documented defaults.
    #[test]
    #[allow(unsafe_code)]
    fn the_option_numbers_name_purge_delay_and_arena_eager_commit() {
        // SAFETY: reads of mimalloc's option table.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(super::PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (2, 10));
    }
}
