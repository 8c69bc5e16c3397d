//! Panics as findings: caught, with the message and the place they happened, without
//! the default hook's printing (a reducer may provoke the same panic hundreds of times).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::Duration;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) a panic hook that records, instead of printing, the
/// panics of code run by [`catch`]; other threads' panics print as before.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into());
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                LAST.with(|last| *last.borrow_mut() = Some(format!("{message}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic becomes `Err("message at file:line:column")`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    QUIET.with(|q| q.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|_| {
        LAST.with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// What happened to code run with a time limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    /// It returned.
    Returned(T),
    /// It panicked: message and place.
    Panicked(String),
    /// It ran past the limit (the thread is left running).
    Hung,
}

/// Runs `f` on its own thread, catching panics, waiting at most `limit`.
pub fn guarded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Guarded<T> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        // Deep templates recurse: give them what a main thread has.
        .stack_size(8 << 20)
        .spawn(move || {
            let _ = sender.send(catch(f));
        });
    if spawned.is_err() {
        return Guarded::Panicked("cannot start a thread".into());
    }
    match receiver.recv_timeout(limit) {
        Ok(Ok(value)) => Guarded::Returned(value),
        Ok(Err(message)) => Guarded::Panicked(message),
        Err(_) => Guarded::Hung,
    }
}
