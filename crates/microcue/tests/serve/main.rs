//! `microcue serve`, in one test binary: the server's security rules and message handling
//! against a running server ([`security`]), and the live coach in a real browser ([`browser`]).

mod browser;
mod security;
