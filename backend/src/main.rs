//! todo-backend (being built).

fn main() {}
