fn main() {
    // Embedded migrations must trigger a rebuild when a file is added.
    println!("cargo:rerun-if-changed=migrations");
}
