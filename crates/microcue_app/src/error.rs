//! Errors of the app crate.

use std::net::SocketAddr;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The address could not be bound.
    #[error(
        "cannot listen on `{address}`\nhint: is another `microcue serve` running there? choose another `--port` (0 picks a free one)"
    )]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the server's runtime")]
    Runtime(#[source] std::io::Error),
    /// Serving failed.
    #[error("the server stopped with an error")]
    Serve(#[source] std::io::Error),
}
