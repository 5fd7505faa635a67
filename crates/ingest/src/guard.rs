//! Panics inside a dependency, turned into errors where outside bytes are parsed.

/// Runs `f`, returning what it panicked with as an error message instead of unwinding further.
/// For calls into code that panics on corrupt input (polars' Parquet reader does): the panic is
/// that input's error, not the end of the process.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|panic| panic_message(panic.as_ref()).to_string())
}

/// The message of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message")
}
