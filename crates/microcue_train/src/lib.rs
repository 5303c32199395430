//! # microcue_train
//!
//! The training program of microcue: drills, KPIs, the 60-day plan, and the SQLite journal.
