// Stacks, templates and exercises are embedded in the binary: rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=stacks");
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=exercises");
}
