//! `microcue serve`, in one test binary: the server's security rules and message handling
//! against a running server ([`security`]), the live coach in a real browser ([`browser`]), the
//! journal ([`journal`]), review ([`review`]) and drills pages in it: the flash test
//! ([`drills`]), the slow-motion study ([`slowmo`]), the mirror drill ([`mirror`]) and the
//! roleplay cards ([`roleplay`]).

mod browser;
mod drills;
mod journal;
mod mirror;
mod review;
mod roleplay;
mod security;
mod slowmo;
