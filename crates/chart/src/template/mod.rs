//! Go's `text/template`, with Go's exact semantics (being built).
