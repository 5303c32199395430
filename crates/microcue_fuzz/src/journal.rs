//! Journal import: a JSON export into a fresh SQLite journal.

use std::cell::RefCell;

use microcue_train::dates::add_days;
use microcue_train::journal::{Journal, journal_files, read_export};
use microcue_train::kpi::{KpiTargets, compute_kpis};

use crate::checks::check_error;

thread_local! {
    /// The folder of [`journal_import`]'s export file and journal, one per thread.
    static FOLDER: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// A journal export imported as `microcue journal import FILE` does (read the file, import in
/// one transaction into a fresh journal), then checked: every row is added or counted as a
/// duplicate, the journal exports again with what was added, a second import adds nothing, and
/// the KPIs compute over the imported rows.
pub fn journal_import(data: &[u8]) {
    FOLDER.with(|folder| {
        let mut folder = folder.borrow_mut();
        if folder.is_none() {
            *folder = Some(tempfile::tempdir().expect("a temporary folder"));
        }
        let dir = folder.as_ref().expect("just made").path();
        let export_path = dir.join("export.json");
        std::fs::write(&export_path, data).expect("the export file is written");
        let export = match read_export(&export_path) {
            Ok(export) => export,
            Err(error) => {
                check_error(&error, "export.json");
                return;
            }
        };

        let journal_path = dir.join("journal.sqlite");
        for file in journal_files(&journal_path) {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => panic!("cannot remove `{}`: {error}", file.display()),
            }
        }
        let mut journal = Journal::open(&journal_path).expect("a fresh journal opens");
        let report = match journal.import(&export, &export_path) {
            Ok(report) => report,
            Err(error) => {
                check_error(&error, "export.json");
                let after = journal
                    .export()
                    .expect("the journal reads after a failed import");
                assert!(
                    after.trials.is_empty()
                        && after.log_entries.is_empty()
                        && after.tasks_done.is_empty()
                        && after.baselines.is_empty()
                        && after.reviewed_events.is_empty()
                        && after.plan_start.is_none(),
                    "a failed import left rows behind"
                );
                return;
            }
        };
        let rows = export.trials.len()
            + export.log_entries.len()
            + export.tasks_done.len()
            + export.baselines.len()
            + export.reviewed_events.len();
        let added = report.trials_added
            + report.log_entries_added
            + report.tasks_done_added
            + report.baselines_added
            + report.reviewed_events_added;
        assert_eq!(
            added + report.duplicates_skipped,
            rows,
            "rows neither added nor skipped"
        );

        let exported = journal.export().expect("an imported journal exports again");
        assert_eq!(exported.trials.len(), report.trials_added);
        assert_eq!(exported.log_entries.len(), report.log_entries_added);
        assert_eq!(exported.tasks_done.len(), report.tasks_done_added);
        assert_eq!(exported.baselines.len(), report.baselines_added);
        assert_eq!(exported.reviewed_events.len(), report.reviewed_events_added);
        assert_eq!(exported.plan_start, export.plan_start);

        let again = journal
            .import(&export, &export_path)
            .expect("a second import of the same export");
        assert_eq!(
            again.duplicates_skipped, rows,
            "a second import added rows: {again:?}"
        );

        let trials: Vec<_> = exported.trials.into_iter().map(|t| t.record).collect();
        let log: Vec<_> = exported.log_entries.into_iter().map(|e| e.record).collect();
        if let Some(start) = exported.plan_start {
            let today = add_days(start, 70);
            compute_kpis(start, today, &trials, &log, &KpiTargets::default());
        }
    });
}
