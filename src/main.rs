fn main() {
    std::process::exit(suiji::cli::main());
}
