//! `microcue serve`, in one test binary: the server's security rules and message handling
//! against a running server ([`security`]), the live coach in a real browser ([`browser`]), the journal ([`journal`]), review ([`review`]) and drills ([`drills`]) pages in it.

mod browser;
mod drills;
mod journal;
mod review;
mod security;
