//! A hand-written SVG of one run: the limit and what is in flight against the hidden capacity,
//! and goodput against the oracle's, over time, with the phases marked.

use std::fmt::Write;

use crate::sim::scenario::Scenario;
use crate::sim::trace::{Trace, BUCKET};

const WIDTH: f64 = 1000.0;
const PANEL: f64 = 220.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 30.0;
const GAP: f64 = 50.0;

/// One line of a panel.
pub struct Line<'a> {
    pub label: &'a str,
    pub colour: &'a str,
    pub dashed: bool,
    pub points: Vec<f64>,
}

/// Averages `values` (one per bucket) over windows of `n` buckets, for a readable line.
pub fn smooth(values: &[f64], n: usize) -> Vec<f64> {
    values
        .chunks(n)
        .flat_map(|chunk| {
            let mean = chunk.iter().sum::<f64>() / chunk.len() as f64;
            std::iter::repeat_n(mean, chunk.len())
        })
        .collect()
}

/// The per-bucket series of a trace.
pub fn series(trace: &Trace, f: impl Fn(&crate::sim::trace::Bucket) -> f64) -> Vec<f64> {
    trace.buckets.iter().map(f).collect()
}

/// The hidden capacity of each bucket.
pub fn capacity(scenario: &Scenario) -> Vec<f64> {
    let mut points = Vec::new();
    for segment in &scenario.segments {
        let buckets = (segment.duration.as_nanos() / BUCKET.as_nanos()) as usize;
        points.extend(std::iter::repeat_n(
            segment.conditions.capacity as f64,
            buckets,
        ));
    }
    points
}

/// The plot: two panels over the scenario's time, phases marked.
pub fn plot(scenario: &Scenario, title: &str, concurrency: &[Line], goodput: &[Line]) -> String {
    let seconds = scenario.duration().as_secs_f64();
    let height = TOP + 2.0 * PANEL + GAP + 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="13">{title}</text>
"#,
        w = WIDTH + 20.0
    );
    let plot_width = WIDTH - LEFT - 150.0;
    let x_of = |t: f64| LEFT + t / seconds * plot_width;
    // Phases: alternate shading and their names.
    for (i, (at, segment)) in scenario.timed().enumerate() {
        let (x0, x1) = (
            x_of(at.as_secs_f64()),
            x_of((at + segment.duration).as_secs_f64()),
        );
        let shade = if i % 2 == 0 { "#f4f4f4" } else { "#ffffff" };
        let _ = writeln!(
            svg,
            r#"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{shade}"/>"#,
            x1 - x0,
            2.0 * PANEL + GAP
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="9" transform="rotate(-30 {:.1} {:.1})">{}</text>"#,
            x0 + 2.0,
            TOP + 2.0 * PANEL + GAP + 14.0,
            x0 + 2.0,
            TOP + 2.0 * PANEL + GAP + 14.0,
            segment.name
        );
    }
    panel(
        &mut svg,
        "in flight (tasks)",
        TOP,
        concurrency,
        &x_of,
        plot_width,
    );
    panel(
        &mut svg,
        "goodput (successes/s)",
        TOP + PANEL + GAP,
        goodput,
        &x_of,
        plot_width,
    );
    svg.push_str("</svg>\n");
    svg
}

fn panel(
    svg: &mut String,
    name: &str,
    top: f64,
    lines: &[Line],
    x_of: &dyn Fn(f64) -> f64,
    plot_width: f64,
) {
    let most = lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .fold(1.0f64, f64::max);
    let ceiling = nice(most);
    let y_of = |v: f64| top + PANEL - v / ceiling * PANEL;
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_width:.1}" height="{PANEL}" fill="none" stroke="#999"/>
<text x="{LEFT}" y="{:.1}">{name}</text>"##,
        top - 4.0
    );
    for tick in 0..=4 {
        let value = ceiling * f64::from(tick) / 4.0;
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{value:.0}</text><line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT - 4.0,
            y_of(value) + 4.0,
            LEFT + plot_width,
            y = y_of(value)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let step = BUCKET.as_secs_f64();
        let mut points = String::new();
        for (j, v) in line.points.iter().enumerate() {
            let _ = write!(points, "{:.1},{:.1} ", x_of(j as f64 * step), y_of(*v));
        }
        let dash = if line.dashed {
            r#" stroke-dasharray="5,3""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<polyline points="{points}" fill="none" stroke="{}" stroke-width="1.3"{dash}/>"#,
            line.colour
        );
        let y = top + 14.0 + 16.0 * i as f64;
        let x = LEFT + plot_width + 10.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            x + 18.0,
            y - 4.0,
            y - 4.0,
            line.colour,
            x + 22.0,
            line.label
        );
    }
}

/// A round ceiling above `v`.
fn nice(v: f64) -> f64 {
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}
