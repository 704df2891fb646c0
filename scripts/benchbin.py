"""Which suiji build a benchmark script runs, said before any figure.

`SUIJI_BIN` names another build (to compare two); otherwise the repository's own release
build, refused when any source it is built from is newer than it, so that figures are never
taken from a stale binary by mistake.
"""
import datetime
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ["src", "templates", "static", "Cargo.toml", "Cargo.lock", "build.rs"]


def newest_source():
    """The newest file the release build is made from: (modification time, path)."""
    newest = (0.0, "")
    for name in SOURCES:
        top = os.path.join(ROOT, name)
        paths = [top] if os.path.isfile(top) else (
            os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs)
        for path in paths:
            newest = max(newest, (os.path.getmtime(path), path))
    return newest


def binary():
    """The suiji binary to run, after printing which one it is and when it was built."""
    given = os.environ.get("SUIJI_BIN")
    path = given or os.path.join(ROOT, "target", "release", "suiji")
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no such build; run `cargo build --release` first "
                         "(or set SUIJI_BIN to another build)")
    built = os.path.getmtime(path)
    if not given:
        at, source = newest_source()
        if at > built:
            raise SystemExit(
                f"{path} is older than {os.path.relpath(source, ROOT)}: run "
                "`cargo build --release` first, or set SUIJI_BIN to the build to measure")
    shown = datetime.datetime.fromtimestamp(built, datetime.timezone.utc)
    print(f"suiji build: {path} (built {shown:%Y-%m-%d %H:%M} UTC)", file=sys.stderr)
    return path


if __name__ == "__main__":
    # For shell scripts: `bin=$(python3 scripts/benchbin.py)`.
    print(binary())
