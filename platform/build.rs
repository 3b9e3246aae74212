// `sqlx::migrate!` embeds the migrations at compile time; a new or changed migration must
// rebuild this crate, which stable Rust does not notice on its own.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
