/// mimalloc instead of the system allocator: the draw's parallel passes free most of what they
/// allocate, and glibc's per-thread arenas kept it (ARCHITECTURE.md, dependencies).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(suiji::cli::main());
}
