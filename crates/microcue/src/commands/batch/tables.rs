//! The tables of a batch: every event as Parquet and CSV, and one status row per file.
//!
//! Each table starts with the file (`path`) and the manifest's carried columns. The event
//! columns are those of `microcue analyze` (docs/formats.md): in CSV exactly the event cells of
//! its CSV, in Parquet typed (`intensity` and `confidence` as the f32 the spotter computed,
//! `evidence` as a list of `{channel, delta}`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow_array::{
    ArrayRef, Float32Array, Float64Array, ListArray, RecordBatch, StringArray, StructArray,
    UInt32Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use microcue_core::Event;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::inputs::Job;
use super::ledger::{FileRecord, write_atomically};
use crate::output::{CSV_HEADER, EVENT_CSV_COLUMNS, enum_name, event_cells};

/// Status table columns after the file and the carried columns.
const STATUS_COLUMNS: [&str; 8] = [
    "status",
    "message",
    "frames",
    "frames_with_face",
    "duration_s",
    "fps",
    "events",
    "seconds",
];

/// Output file names in `--out`.
pub const EVENTS_PARQUET: &str = "events.parquet";
pub const EVENTS_CSV: &str = "events.csv";
pub const STATUS_CSV: &str = "status.csv";

/// Refuses carried manifest columns that would clash with an output column.
pub fn check_columns(carried: &[String]) -> anyhow::Result<()> {
    let taken: Vec<&str> = std::iter::once("path")
        .chain(CSV_HEADER.split(',').take(EVENT_CSV_COLUMNS))
        .chain(STATUS_COLUMNS)
        .collect();
    if let Some(clash) = carried.iter().find(|name| taken.contains(&name.as_str())) {
        bail!(
            "the manifest's column `{clash}` has the name of an output column\n\
             hint: rename it (output columns: {})",
            taken.join(", ")
        );
    }
    Ok(())
}

/// Writes the three tables (each atomically) for `rows`: every file's job and record, in order.
pub fn write_all(
    out: &Path,
    columns: &[String],
    rows: &[(&Job, &FileRecord)],
) -> anyhow::Result<()> {
    write_atomically(&out.join(EVENTS_PARQUET), |file| {
        let batch = events_batch(columns, rows)?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut writer = ArrowWriter::try_new(&mut *file, batch.schema(), Some(properties))?;
        writer.write(&batch)?;
        writer.close()?;
        Ok(())
    })?;
    write_atomically(&out.join(EVENTS_CSV), |file| {
        let mut csv = csv::Writer::from_writer(&mut *file);
        csv.write_record(
            std::iter::once("path")
                .chain(columns.iter().map(String::as_str))
                .chain(CSV_HEADER.split(',').take(EVENT_CSV_COLUMNS)),
        )?;
        for (job, record) in rows {
            for event in &record.events {
                csv.write_record(
                    std::iter::once(job.name.as_str())
                        .chain(job.carried.iter().map(String::as_str))
                        .chain(event_cells(event).iter().map(String::as_str)),
                )?;
            }
        }
        csv.flush()?;
        Ok(())
    })?;
    write_atomically(&out.join(STATUS_CSV), |file| {
        let mut csv = csv::Writer::from_writer(&mut *file);
        csv.write_record(
            std::iter::once("path")
                .chain(columns.iter().map(String::as_str))
                .chain(STATUS_COLUMNS),
        )?;
        for (job, record) in rows {
            let optional = |value: Option<f64>, decimals: usize| {
                value.map_or(String::new(), |v| format!("{v:.decimals$}"))
            };
            let cells = [
                record.status.as_str().to_string(),
                record.message.clone(),
                record.frames.to_string(),
                record.frames_with_face.to_string(),
                optional(record.duration_s, 3),
                optional(record.fps, 3),
                record.events.len().to_string(),
                format!("{:.2}", record.seconds),
            ];
            csv.write_record(
                std::iter::once(job.name.as_str())
                    .chain(job.carried.iter().map(String::as_str))
                    .chain(cells.iter().map(String::as_str)),
            )?;
        }
        csv.flush()?;
        Ok(())
    })?;
    Ok(())
}

/// The Arrow schema of the events table.
fn events_schema(columns: &[String]) -> (Schema, Fields) {
    let evidence_fields = Fields::from(vec![
        Field::new("channel", DataType::Utf8, false),
        Field::new("delta", DataType::Float32, false),
    ]);
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let mut fields = vec![text("path")];
    fields.extend(columns.iter().map(|name| text(name)));
    fields.extend([
        Field::new("track", DataType::UInt32, false),
        Field::new("onset_s", DataType::Float64, false),
        Field::new("apex_s", DataType::Float64, false),
        Field::new("offset_s", DataType::Float64, false),
        Field::new("duration_ms", DataType::Float64, false),
        text("scale"),
        text("cue"),
        text("side"),
        Field::new("intensity", DataType::Float32, false),
        Field::new("confidence", DataType::Float32, false),
        text("valence"),
        Field::new(
            "evidence",
            DataType::List(Arc::new(Field::new_struct(
                "item",
                evidence_fields.clone(),
                false,
            ))),
            false,
        ),
    ]);
    (Schema::new(fields), evidence_fields)
}

/// One Arrow record batch of all events, one row per event.
fn events_batch(columns: &[String], rows: &[(&Job, &FileRecord)]) -> anyhow::Result<RecordBatch> {
    let (schema, evidence_fields) = events_schema(columns);
    let events: Vec<(&Job, &Event)> = rows
        .iter()
        .flat_map(|(job, record)| record.events.iter().map(move |event| (*job, event)))
        .collect();
    let text = |value: &dyn Fn(&Job, &Event) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            events.iter().map(|(job, event)| value(job, event)),
        ))
    };
    let number = |value: &dyn Fn(&Event) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            events.iter().map(|(_, event)| value(event)),
        ))
    };
    let single = |value: &dyn Fn(&Event) -> f32| -> ArrayRef {
        Arc::new(Float32Array::from_iter_values(
            events.iter().map(|(_, event)| value(event)),
        ))
    };
    let mut arrays: Vec<ArrayRef> = vec![text(&|job, _| job.name.clone())];
    for index in 0..columns.len() {
        arrays.push(text(&|job, _| {
            job.carried.get(index).cloned().unwrap_or_default()
        }));
    }
    let evidence = events.iter().flat_map(|(_, event)| &event.evidence);
    let evidence_items = StructArray::try_new(
        evidence_fields.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                evidence.clone().map(|e| e.channel.as_str()),
            )),
            Arc::new(Float32Array::from_iter_values(evidence.map(|e| e.delta))),
        ],
        None,
    )?;
    let evidence_list = ListArray::try_new(
        Arc::new(Field::new_struct("item", evidence_fields, false)),
        OffsetBuffer::from_lengths(events.iter().map(|(_, event)| event.evidence.len())),
        Arc::new(evidence_items),
        None,
    )?;
    arrays.extend([
        Arc::new(UInt32Array::from_iter_values(
            events.iter().map(|(_, event)| event.track.0),
        )) as ArrayRef,
        number(&|event| event.onset_s),
        number(&|event| event.apex_s),
        number(&|event| event.offset_s),
        number(&|event| event.duration_ms),
        text(&|_, event| enum_name(&event.scale)),
        text(&|_, event| event.cue.to_string()),
        text(&|_, event| event.side.as_str().to_string()),
        single(&|event| event.intensity),
        single(&|event| event.confidence),
        text(&|_, event| enum_name(&event.valence)),
        Arc::new(evidence_list),
    ]);
    RecordBatch::try_new(Arc::new(schema), arrays).context("cannot assemble the events table")
}
