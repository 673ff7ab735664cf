//! Panics of a third-party decoder, contained: the `parquet` crate asserts on some damaged files
//! (a negative column-chunk offset in the footer, found by fuzzing in seconds) instead of returning
//! an error. Its calls run through [`contained`], which turns such a panic into the decoder's
//! message, so a damaged file is a clear error (exit 2), never a crash, and prints no panic
//! message: a panic hook, installed once and chained to the one before it, stays silent while a
//! contained call runs on that thread. Panics anywhere else print as usual.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

fn install_quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it comes back as `Err(its message)`.
pub(crate) fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(outer));
    result.map_err(|payload| {
        payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic without a message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_values_pass_through() {
        assert_eq!(contained(|| 7), Ok(7));
        assert_eq!(contained(|| -> u8 { panic!("offset should not be negative") }), Err("offset should not be negative".to_string()));
        let n = 3;
        assert_eq!(contained(|| -> u8 { panic!("{n} bad pages") }), Err("3 bad pages".to_string()));
        // Nested calls restore the outer state.
        assert_eq!(contained(|| contained(|| -> u8 { panic!("inner") }).unwrap_err()), Ok("inner".to_string()));
    }
}
