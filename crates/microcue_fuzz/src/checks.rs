//! The promises every target checks: errors that say what and where, sound events.

use std::collections::BTreeMap;
use std::error::Error;

use microcue_core::{Event, TrackId};

/// An error message names `input` (a file name, or `line` for the readers that know no file
/// names) in itself or in one of its causes, and none of its causes is empty.
pub(crate) fn check_error(error: &dyn Error, input: &str) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        assert!(!text.is_empty(), "an empty cause in {chain}");
        chain.push_str("\ncaused by: ");
        chain.push_str(&text);
        source = cause.source();
    }
    assert!(
        chain.contains(input),
        "the error does not name `{input}`: {chain}"
    );
}

/// Events have finite times in order, a duration that matches them, confidence in [0, 1],
/// finite evidence, survive a JSON round trip (the `analyze` output), and never overlap within
/// a track.
pub(crate) fn check_events(events: &[Event]) {
    let mut by_track: BTreeMap<TrackId, Vec<&Event>> = BTreeMap::new();
    for event in events {
        let times = [
            event.onset_s,
            event.apex_s,
            event.offset_s,
            event.duration_ms,
        ];
        assert!(
            times.iter().all(|time| time.is_finite()),
            "an event with a non-finite time: {event:?}"
        );
        assert!(
            event.onset_s <= event.apex_s && event.apex_s <= event.offset_s,
            "an event whose apex is not between onset and offset: {event:?}"
        );
        let expected_ms = (event.offset_s - event.onset_s) * 1000.0;
        assert!(
            (event.duration_ms - expected_ms).abs() <= 1e-6 * expected_ms.abs().max(1.0),
            "an event whose duration is not offset - onset: {event:?}"
        );
        assert!(
            (0.0..=1.0).contains(&event.confidence),
            "an event whose confidence is not in [0, 1]: {event:?}"
        );
        assert!(
            event.intensity.is_finite(),
            "an event with a non-finite intensity: {event:?}"
        );
        assert!(
            event
                .evidence
                .iter()
                .all(|evidence| evidence.delta.is_finite()),
            "an event with non-finite evidence: {event:?}"
        );
        let json = serde_json::to_string(event).expect("an event serialises");
        let back: Event = serde_json::from_str(&json).expect("an event's JSON reads back");
        assert_eq!(&back, event, "an event changes in its JSON round trip");
        by_track.entry(event.track).or_default().push(event);
    }
    for events in by_track.values_mut() {
        events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
        for pair in events.windows(2) {
            assert!(
                pair[1].onset_s >= pair[0].offset_s,
                "two events of one track overlap: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}
