/// mimalloc instead of the system allocator: the draw's parallel passes free most of what they
/// allocate, and glibc's per-thread arenas kept it (ARCHITECTURE.md, dependencies). Its version 2
/// (the `v2` feature): version 3 gives freed memory back to the system a second later, when the
/// thread that made it next allocates, which held a national draw 200 MiB above its use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(suiji::cli::main());
}
