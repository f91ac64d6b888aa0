//! Rebuilds the crate when a scenario file is added, changed or removed (include_dir alone
//! does not tell cargo about new files).

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(dir)
        .expect("the crate directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "src") {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
