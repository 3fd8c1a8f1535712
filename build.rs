// `embed_migrations!` reads the migrations directory while compiling, and
// Cargo does not watch it by itself: without this, a new migration would not
// rebuild the binary that should embed it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
