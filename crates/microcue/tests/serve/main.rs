//! `microcue serve`, in one test binary: the server's security rules and message handling
//! against a running server ([`security`]), the live coach in a real browser ([`browser`]), the journal page ([`journal`]) and the review page ([`review`]) in it.

mod browser;
mod journal;
mod review;
mod security;
