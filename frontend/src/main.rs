//! todo-frontend (being built).

fn main() {}
