//! A small map drawn on the server as SVG: the registered address with its
//! geofence, and the check-in and check-out positions with their accuracy
//! circles. No map service: positions are projected onto a flat plane around
//! the address (equirectangular, exact enough for a few kilometres).

use std::fmt::Write as _;

use doorstep_core::policy::{EARTH_RADIUS_M, GeoPoint, GpsFix};

/// Side of the drawing, in SVG units.
const SIZE: f64 = 280.0;

/// One position to draw.
pub struct Marker<'a> {
    /// Its label (shown in the drawing; escaped).
    pub label: &'a str,
    /// The fix.
    pub fix: &'a GpsFix,
}

/// Escapes text for SVG/XML.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// East and north offsets of `p` from `origin`, in metres.
fn project(origin: GeoPoint, p: GeoPoint) -> (f64, f64) {
    let metres_per_degree = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    let mut d_lon = p.longitude - origin.longitude;
    if d_lon > 180.0 {
        d_lon -= 360.0;
    } else if d_lon < -180.0 {
        d_lon += 360.0;
    }
    let east = d_lon * origin.latitude.to_radians().cos() * metres_per_degree;
    let north = (p.latitude - origin.latitude) * metres_per_degree;
    (east, north)
}

/// Height of one row of the legend under the drawing, in SVG units (above
/// the labels' 11 px font, so rows cannot overlap).
const ROW: f64 = 16.0;

/// Where the legend's text starts, right of its symbols.
const LEGEND_TEXT_X: f64 = 30.0;

/// What the map's words say: the address's and the geofence's labels, the
/// drawing's title, and the unit of length of the page's language.
pub struct MapWords<'a> {
    /// The registered address.
    pub address: &'a str,
    /// The geofence.
    pub geofence: &'a str,
    /// The drawing's title.
    pub title: &'a str,
    /// Metres, in the page's language ("m", "米").
    pub metres: &'a str,
}

/// The SVG, or `None` when there is nothing to place (no address position and
/// no valid fix). `geofence_m` is the policy's radius around the address.
///
/// The drawing carries symbols only (the address a square, the first
/// position a circle, the second a diamond); every word is in a legend of
/// one row per symbol under the drawing, so labels cannot overlap whatever
/// the positions, and lengths use one unit, `words.metres`.
pub fn draw(
    registered: Option<GeoPoint>,
    markers: &[Marker<'_>],
    geofence_m: f64,
    words: &MapWords<'_>,
) -> Option<String> {
    let registered = registered.filter(|p| p.check().is_ok());
    let markers: Vec<&Marker<'_>> = markers.iter().filter(|m| m.fix.check().is_ok()).collect();
    let origin = registered.or_else(|| markers.first().map(|m| m.fix.point))?;
    let placed: Vec<(f64, f64, f64, &str)> = markers
        .iter()
        .map(|m| {
            let (e, n) = project(origin, m.fix.point);
            (e, n, m.fix.accuracy_m, m.label)
        })
        .collect();
    let mut extent: f64 = if registered.is_some() {
        geofence_m
    } else {
        50.0
    };
    for (e, n, accuracy, _) in &placed {
        extent = extent.max(e.abs().max(n.abs()) + accuracy.min(5_000.0));
    }
    let extent = (extent * 1.15).clamp(50.0, 50_000.0);
    let half = SIZE / 2.0;
    let scale = (half - 14.0) / extent;
    let at = |e: f64, n: f64| (half + e * scale, half - n * scale);
    let rows = usize::from(registered.is_some()) * 2 + placed.len() + 1;
    #[allow(clippy::cast_precision_loss)]
    let height = SIZE + ROW * rows as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SIZE} {height}\" \
         width=\"{SIZE}\" height=\"{height}\" role=\"img\" class=\"map\">\
         <title>{}</title><rect width=\"{SIZE}\" height=\"{SIZE}\" class=\"map-bg\"/>",
        escape(words.title)
    );
    // The legend's rows: baseline of row `i`, and the middle of its symbol.
    let mut row = 0.0_f64;
    let mut next_row = || {
        let baseline = SIZE + ROW * (row + 1.0);
        row += 1.0;
        (baseline, baseline - 4.0)
    };
    let mut legend = String::new();
    if registered.is_some() {
        let r = geofence_m * scale;
        let _ = write!(
            svg,
            "<circle cx=\"{half:.1}\" cy=\"{half:.1}\" r=\"{r:.1}\" class=\"map-fence\"/>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" class=\"map-home\"/>",
            half - 5.0,
            half - 5.0,
        );
        let (text_y, mid) = next_row();
        let _ = write!(
            legend,
            "<rect x=\"10\" y=\"{:.1}\" width=\"10\" height=\"10\" class=\"map-home\"/>\
             <text x=\"{LEGEND_TEXT_X}\" y=\"{text_y:.1}\" class=\"map-label\">{}</text>",
            mid - 5.0,
            escape(words.address),
        );
        let (text_y, mid) = next_row();
        let _ = write!(
            legend,
            "<circle cx=\"15\" cy=\"{mid:.1}\" r=\"6\" class=\"map-fence\"/>\
             <text x=\"{LEGEND_TEXT_X}\" y=\"{text_y:.1}\" class=\"map-note\">{} {geofence_m:.0} {}</text>",
            escape(words.geofence),
            escape(words.metres),
        );
    }
    for (i, (e, n, accuracy, label)) in placed.iter().enumerate() {
        let (x, y) = at(*e, *n);
        let r = (accuracy * scale).min(SIZE);
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" class=\"map-accuracy\"/>{}",
            symbol(i, x, y)
        );
        let (text_y, mid) = next_row();
        let _ = write!(
            legend,
            "{}<text x=\"{LEGEND_TEXT_X}\" y=\"{text_y:.1}\" class=\"map-label\">{}</text>",
            symbol(i, 15.0, mid),
            escape(label)
        );
    }
    let bar_m = nice_length(extent / 2.0);
    let bar_px = bar_m * scale;
    let (text_y, mid) = next_row();
    let _ = write!(
        svg,
        "<line x1=\"10\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" class=\"map-scale\"/>\
         {legend}<line x1=\"10\" y1=\"{mid:.1}\" x2=\"20\" y2=\"{mid:.1}\" class=\"map-scale\"/>\
         <text x=\"{LEGEND_TEXT_X}\" y=\"{text_y:.1}\" class=\"map-note\">{bar_m:.0} {}</text></svg>",
        escape(words.metres),
        y = SIZE - 10.0,
        x2 = 10.0 + bar_px,
    );
    Some(svg)
}

/// The symbol of the `i`th position at (`x`, `y`): a circle, then a diamond.
fn symbol(i: usize, x: f64, y: f64) -> String {
    if i == 0 {
        format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" class=\"map-fix\"/>")
    } else {
        format!(
            "<polygon points=\"{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}\" class=\"map-fix map-fix-later\"/>",
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0
        )
    }
}

/// The largest of 1, 2 or 5 times a power of ten not above `metres`.
fn nice_length(metres: f64) -> f64 {
    let power = 10f64.powf(metres.max(1.0).log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * power)
        .find(|len| *len <= metres)
        .unwrap_or(power)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn fix(lat: f64, lon: f64) -> GpsFix {
        GpsFix {
            point: GeoPoint {
                latitude: lat,
                longitude: lon,
            },
            accuracy_m: 20.0,
            mocked: false,
            taken_at: Utc::now(),
        }
    }

    fn words(address: &str) -> MapWords<'_> {
        MapWords {
            address,
            geofence: "fence",
            title: "map",
            metres: "米",
        }
    }

    /// Every `<text>` of `svg`: x, baseline y and its text.
    fn texts(svg: &str) -> Vec<(f64, f64, String)> {
        let mut found = Vec::new();
        let mut rest = svg;
        while let Some(at) = rest.find("<text ") {
            rest = &rest[at..];
            let attr = |name: &str| -> f64 {
                let from = rest.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                rest[from..from + rest[from..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            };
            let (x, y) = (attr("x"), attr("y"));
            let open = rest.find('>').unwrap() + 1;
            let close = rest.find("</text>").unwrap();
            found.push((x, y, rest[open..close].to_owned()));
            rest = &rest[close..];
        }
        found
    }

    #[test]
    fn labels_never_overlap_and_lengths_use_one_unit_wherever_the_positions_are() {
        let home = GeoPoint {
            latitude: 39.9087,
            longitude: 116.4605,
        };
        // Both positions on the address itself, then far apart: every word
        // stays on its own row inside the drawing.
        for (a, b) in [
            (fix(39.9087, 116.4605), fix(39.9087, 116.4605)),
            (fix(39.9090, 116.4610), fix(39.9500, 116.4605)),
        ] {
            let markers = [
                Marker {
                    label: "签到",
                    fix: &a,
                },
                Marker {
                    label: "签退",
                    fix: &b,
                },
            ];
            let svg = draw(Some(home), &markers, 300.0, &words("登记地址")).unwrap();
            let texts = texts(&svg);
            assert_eq!(texts.len(), 5, "{svg}");
            let height: f64 = {
                let from = svg.find("height=\"").unwrap() + 8;
                svg[from..from + svg[from..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            };
            for (i, (x, y, text)) in texts.iter().enumerate() {
                // At most 11 px a character (CJK at the labels' 11 px font).
                #[allow(clippy::cast_precision_loss)]
                let width = 11.0 * text.chars().count() as f64;
                assert!(*x >= 0.0 && x + width <= SIZE, "{text} fits across");
                assert!(*y - 11.0 >= SIZE && *y <= height, "{text} is in the legend");
                for (other_x, other_y, other) in &texts[i + 1..] {
                    let _ = other_x;
                    assert!((y - other_y).abs() >= 11.0, "{text} and {other} overlap");
                }
            }
            assert!(!svg.contains(" m<") && svg.contains(" 米<"), "{svg}");
        }
    }

    #[test]
    fn draws_the_address_and_positions_and_escapes_labels() {
        let home = GeoPoint {
            latitude: 39.9087,
            longitude: 116.4605,
        };
        let near = fix(39.9090, 116.4610);
        let svg = draw(
            Some(home),
            &[Marker {
                label: "<in>",
                fix: &near,
            }],
            300.0,
            &words("home"),
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;in&gt;") && !svg.contains("<in>"));
        assert!(svg.contains("map-fence") && svg.contains("map-fix"));
    }

    #[test]
    fn nothing_to_place_draws_nothing_and_bad_fixes_are_skipped() {
        assert_eq!(draw(None, &[], 300.0, &words("a")), None);
        let bad = fix(f64::NAN, 0.0);
        let markers = [Marker {
            label: "x",
            fix: &bad,
        }];
        assert_eq!(draw(None, &markers, 300.0, &words("a")), None);
    }

    #[test]
    fn projection_is_in_metres_and_scale_bars_are_round() {
        let origin = GeoPoint {
            latitude: 0.0,
            longitude: 0.0,
        };
        let (e, n) = project(
            origin,
            GeoPoint {
                latitude: 0.001,
                longitude: 0.0,
            },
        );
        assert!(e.abs() < 1e-9 && (n - 111.19).abs() < 0.1, "{e} {n}");
        assert_eq!(nice_length(340.0), 200.0);
        assert_eq!(nice_length(99.0), 50.0);
        assert_eq!(nice_length(1.0), 1.0);
    }
}
