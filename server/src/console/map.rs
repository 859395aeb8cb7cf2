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

/// The SVG, or `None` when there is nothing to place (no address position and
/// no valid fix). `geofence_m` is the policy's radius around the address;
/// `address_label` and `geofence_label` are shown in the drawing.
pub fn draw(
    registered: Option<GeoPoint>,
    markers: &[Marker<'_>],
    geofence_m: f64,
    address_label: &str,
    geofence_label: &str,
    title: &str,
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
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SIZE} {SIZE}\" \
         width=\"{SIZE}\" height=\"{SIZE}\" role=\"img\" class=\"map\">\
         <title>{}</title><rect width=\"{SIZE}\" height=\"{SIZE}\" class=\"map-bg\"/>",
        escape(title)
    );
    if registered.is_some() {
        let r = geofence_m * scale;
        let _ = write!(
            svg,
            "<circle cx=\"{half:.1}\" cy=\"{half:.1}\" r=\"{r:.1}\" class=\"map-fence\"/>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" class=\"map-home\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"map-label\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"map-note\">{} {:.0} m</text>",
            half - 5.0,
            half - 5.0,
            half + 8.0,
            half + 16.0,
            escape(address_label),
            half - r * std::f64::consts::FRAC_1_SQRT_2,
            (half - r * std::f64::consts::FRAC_1_SQRT_2 - 4.0).max(10.0),
            escape(geofence_label),
            geofence_m,
        );
    }
    for (i, (e, n, accuracy, label)) in placed.iter().enumerate() {
        let (x, y) = at(*e, *n);
        // Each label on its own line, so a check-in and a check-out at the
        // same spot stay readable.
        let label_y = y - 6.0 + 13.0 * i as f64;
        let r = (accuracy * scale).min(SIZE);
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" class=\"map-accuracy\"/>\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" class=\"map-fix\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"map-label\">{}</text>",
            x + 7.0,
            label_y,
            escape(label)
        );
    }
    let bar_m = nice_length(extent / 2.0);
    let bar_px = bar_m * scale;
    let _ = write!(
        svg,
        "<line x1=\"10\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" class=\"map-scale\"/>\
         <text x=\"10\" y=\"{ty:.1}\" class=\"map-note\">{bar_m:.0} m</text></svg>",
        y = SIZE - 10.0,
        x2 = 10.0 + bar_px,
        ty = SIZE - 14.0,
    );
    Some(svg)
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
            "home",
            "fence",
            "map",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;in&gt;") && !svg.contains("<in>"));
        assert!(svg.contains("map-fence") && svg.contains("map-fix"));
    }

    #[test]
    fn nothing_to_place_draws_nothing_and_bad_fixes_are_skipped() {
        assert_eq!(draw(None, &[], 300.0, "a", "b", "c"), None);
        let bad = fix(f64::NAN, 0.0);
        let markers = [Marker {
            label: "x",
            fix: &bad,
        }];
        assert_eq!(draw(None, &markers, 300.0, "a", "b", "c"), None);
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
