//! Weekly charts as plain SVG: one bar per plan week, the guide's target as a dashed line at
//! its week. Drawn on the server, so the journal page needs no script and no chart library.

use std::fmt::Write as _;

use crate::pages::escape;

/// Which side of the target line is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    AtLeast,
    AtMost,
}

/// A target: reached by the end of `week`.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub week: u32,
    pub value: f64,
    pub goal: Goal,
}

/// One chart: a series of weekly values (`None`: no data that week).
#[derive(Debug, Clone)]
pub struct WeekChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// Formats a value for labels (`42%`, `1.3/day`).
    pub format: fn(f64) -> String,
    /// Top of the scale (values above are clipped to it).
    pub max: f64,
    pub values: Vec<Option<f64>>,
    pub target: Option<Target>,
}

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 150.0;
const LEFT: f64 = 42.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;

impl WeekChart<'_> {
    /// The chart as an inline `<svg>` with a text description for screen readers.
    pub fn svg(&self) -> String {
        // At least 12 slots: the guide's targets run to week 12, so the target week is in view.
        let slots = self
            .values
            .len()
            .max(self.target.map_or(0, |t| t.week as usize))
            .max(12);
        let plot_width = WIDTH - LEFT - 4.0;
        let plot_height = HEIGHT - BOTTOM - TOP;
        let slot = plot_width / slots as f64;
        let y_of = |value: f64| TOP + plot_height * (1.0 - (value / self.max).clamp(0.0, 1.0));
        let mut description = Vec::new();
        let mut svg = format!(
            "<figure class=\"chart\" id=\"{id}\"><figcaption>{title}</figcaption>\
             <svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-desc\">",
            id = self.id,
            title = escape(self.title),
        );
        for (fraction, label) in [(0.0, 0.0), (0.5, self.max / 2.0), (1.0, self.max)] {
            let y = y_of(self.max * fraction);
            let _ = write!(
                svg,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"axis\" x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{text}</text>",
                x = LEFT - 3.0,
                ty = y + 3.5,
                text = escape(&(self.format)(label)),
            );
        }
        for week in 1..=slots {
            let x = LEFT + slot * (week - 1) as f64;
            if week == 1 || week % 2 == 0 {
                let _ = write!(
                    svg,
                    "<text class=\"axis\" x=\"{cx:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{week}</text>",
                    cx = x + slot / 2.0,
                    y = HEIGHT - 6.0,
                );
            }
            let Some(Some(value)) = self.values.get(week - 1) else {
                continue;
            };
            let y = y_of(*value);
            let met = self.target.map(|t| match t.goal {
                Goal::AtLeast => *value >= t.value,
                Goal::AtMost => *value <= t.value,
            });
            let class = match met {
                Some(true) => "bar met",
                Some(false) => "bar below",
                None => "bar",
            };
            let label = (self.format)(*value);
            let _ = write!(
                svg,
                "<rect class=\"{class}\" data-week=\"{week}\" data-value=\"{value:.3}\" x=\"{bx:.1}\" y=\"{y:.1}\" \
                 width=\"{bw:.1}\" height=\"{bh:.1}\"><title>week {week}: {label}</title></rect>",
                bx = x + slot * 0.15,
                bw = slot * 0.7,
                bh = (TOP + plot_height - y).max(0.5),
                label = escape(&label),
            );
            description.push(format!("week {week}: {label}"));
        }
        if let Some(target) = self.target {
            let y = y_of(target.value);
            let x = LEFT + slot * f64::from(target.week);
            let sign = match target.goal {
                Goal::AtLeast => "≥",
                Goal::AtMost => "≤",
            };
            let text = format!(
                "week {}: {sign} {}",
                target.week,
                (self.format)(target.value)
            );
            let _ = write!(
                svg,
                "<line class=\"target\" x1=\"{LEFT}\" x2=\"{x:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <circle class=\"target\" cx=\"{cx:.1}\" cy=\"{y:.1}\" r=\"3\"/>\
                 <text class=\"target\" x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
                cx = x - slot / 2.0,
                tx = x.min(WIDTH - 2.0),
                ty = (y - 4.0).max(TOP + 8.0),
                label = escape(&text),
            );
            description.push(format!("target {text}"));
        }
        let described = if description.is_empty() {
            "no data yet".to_owned()
        } else {
            description.join("; ")
        };
        let _ = write!(
            svg,
            "</svg><p class=\"sr-only\" id=\"{id}-desc\">{title}: {described}</p></figure>",
            id = self.id,
            title = escape(self.title),
            described = escape(&described),
        );
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent(value: f64) -> String {
        format!("{:.0}%", value * 100.0)
    }

    #[test]
    fn bars_say_whether_they_meet_the_target() {
        let chart = WeekChart {
            id: "accuracy",
            title: "Accuracy",
            format: percent,
            max: 1.0,
            values: vec![Some(0.4), None, Some(0.8)],
            target: Some(Target {
                week: 6,
                value: 0.7,
                goal: Goal::AtLeast,
            }),
        };
        let svg = chart.svg();
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("class=\"bar below\" data-week=\"1\""));
        assert!(svg.contains("class=\"bar met\" data-week=\"3\""));
        assert!(svg.contains("week 6: ≥ 70%"));
        assert!(svg.contains("week 1: 40%; week 3: 80%"));
    }

    #[test]
    fn an_empty_series_draws_no_bar() {
        let chart = WeekChart {
            id: "empty",
            title: "Empty",
            format: percent,
            max: 1.0,
            values: vec![],
            target: None,
        };
        let svg = chart.svg();
        assert!(!svg.contains("<rect"));
        assert!(svg.contains("no data yet"));
    }
}
