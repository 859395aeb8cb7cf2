//! Field policy: when an agent may check in (contact hours, advance notice) and how
//! the check-in and check-out positions are judged against the registered address.
//!
//! Hard rules refuse the action with a [`PolicyViolation`]; location concerns never
//! refuse (GPS indoors is poor, addresses are geocoded badly) but flag the visit
//! for the supervisor with [`CheckInFlag`]s.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Largest UTC offset accepted for a case's local time zone (±18:00), in minutes.
pub const MAX_UTC_OFFSET_MINUTES: i32 = 18 * 60;

/// Why a coordinate or fix is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLocation {
    /// Latitude is not a finite number in [-90, 90].
    #[error("latitude must be finite and within [-90, 90]")]
    Latitude,
    /// Longitude is not a finite number in [-180, 180].
    #[error("longitude must be finite and within [-180, 180]")]
    Longitude,
    /// Accuracy is not a finite number of metres, zero or more.
    #[error("accuracy must be finite and not negative")]
    Accuracy,
}

/// A position on Earth in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Degrees north, in [-90, 90].
    pub latitude: f64,
    /// Degrees east, in [-180, 180].
    pub longitude: f64,
}

impl GeoPoint {
    /// A checked point.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, InvalidLocation> {
        let point = GeoPoint {
            latitude,
            longitude,
        };
        point.check()?;
        Ok(point)
    }

    /// Checks both coordinates are finite and in range.
    pub fn check(&self) -> Result<(), InvalidLocation> {
        if !(self.latitude.is_finite() && (-90.0..=90.0).contains(&self.latitude)) {
            return Err(InvalidLocation::Latitude);
        }
        if !(self.longitude.is_finite() && (-180.0..=180.0).contains(&self.longitude)) {
            return Err(InvalidLocation::Longitude);
        }
        Ok(())
    }

    /// Great-circle distance in metres (haversine on a sphere of
    /// [`EARTH_RADIUS_M`]; within about 0.5% of the ellipsoidal distance).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let d_lat = lat2 - lat1;
        let d_lon = (other.longitude - self.longitude).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
        // Rounding can push `a` a hair past 1 near the antipodes.
        2.0 * EARTH_RADIUS_M * a.clamp(0.0, 1.0).sqrt().asin()
    }
}

/// A GPS fix as the phone reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsFix {
    /// Where the phone believes it is.
    pub point: GeoPoint,
    /// Horizontal accuracy radius reported by the platform, in metres.
    pub accuracy_m: f64,
    /// The platform marked the fix as coming from a mock location provider.
    pub mocked: bool,
    /// When the fix was taken.
    pub taken_at: DateTime<Utc>,
}

impl GpsFix {
    /// Checks the point and the accuracy are usable numbers.
    pub fn check(&self) -> Result<(), InvalidLocation> {
        self.point.check()?;
        if !(self.accuracy_m.is_finite() && self.accuracy_m >= 0.0) {
            return Err(InvalidLocation::Accuracy);
        }
        Ok(())
    }
}

/// The field policy in force for a team. Missing fields take their defaults when
/// deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Start of the contact-hours window in the case's local time (inclusive).
    pub contact_hours_start: NaiveTime,
    /// End of the contact-hours window in the case's local time (exclusive).
    pub contact_hours_end: NaiveTime,
    /// Whether a prior notice to the customer is required before check-in.
    pub notice_required: bool,
    /// How long before check-in the notice must have been given, in minutes.
    pub min_notice_lead_minutes: u32,
    /// A check-in farther than this from the registered address is flagged.
    pub geofence_radius_m: u32,
    /// A fix with a worse accuracy radius than this is flagged.
    pub max_gps_accuracy_m: u32,
    /// Days after approval that the case's data stays on the device.
    pub retention_days_after_approval: u32,
}

const fn hour(h: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, 0, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            contact_hours_start: hour(8),
            contact_hours_end: hour(21),
            notice_required: true,
            min_notice_lead_minutes: 30,
            geofence_radius_m: 300,
            max_gps_accuracy_m: 100,
            retention_days_after_approval: 30,
        }
    }
}

/// A bank's field policy as its server publishes it: versioned like the
/// checklist templates, sent to every phone on its pull, and the one the
/// server checks pushed changes against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPolicy {
    /// The version, from 1, one higher with each publication.
    pub version: u32,
    /// The policy.
    pub policy: Policy,
}

/// Why a [`Policy`] makes no sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The contact-hours window is empty (start at or after end).
    #[error("contact hours must start before they end")]
    EmptyContactHours,
    /// A geofence radius of zero would flag every check-in.
    #[error("geofence radius must be positive")]
    ZeroGeofenceRadius,
    /// A maximum GPS accuracy of zero would flag every fix.
    #[error("maximum GPS accuracy must be positive")]
    ZeroGpsAccuracy,
}

impl PolicyError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            PolicyError::EmptyContactHours => "empty_contact_hours",
            PolicyError::ZeroGeofenceRadius => "zero_geofence_radius",
            PolicyError::ZeroGpsAccuracy => "zero_gps_accuracy",
        }
    }
}

/// Something about a check-in or check-out position the supervisor should see.
/// Allowed, but flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckInFlag {
    /// Farther from the registered address than the geofence radius.
    FarFromAddress,
    /// The fix's accuracy radius is worse than the policy accepts.
    PoorGpsAccuracy,
    /// The platform says the position came from a mock location provider.
    MockedLocation,
    /// The case has no (usable) registered location to compare with.
    NoRegisteredLocation,
}

impl CheckInFlag {
    /// Stable machine-readable code, the same as the serde form.
    pub fn code(self) -> &'static str {
        match self {
            CheckInFlag::FarFromAddress => "far_from_address",
            CheckInFlag::PoorGpsAccuracy => "poor_gps_accuracy",
            CheckInFlag::MockedLocation => "mocked_location",
            CheckInFlag::NoRegisteredLocation => "no_registered_location",
        }
    }
}

/// A hard refusal. Messages carry no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// The check-in falls outside the contact hours in the case's local time.
    #[error("outside contact hours (local time {local_time})")]
    OutsideContactHours {
        /// The local time of the attempted check-in.
        local_time: NaiveTime,
    },
    /// No notice was given to the customer before the check-in.
    #[error("no advance notice given")]
    NoticeMissing,
    /// Notice was given, but not early enough.
    #[error("notice given {lead_minutes} minutes ahead, {required_minutes} required")]
    NoticeTooLate {
        /// Minutes between the earliest notice and the check-in (whole minutes,
        /// rounded down).
        lead_minutes: i64,
        /// Minutes the policy requires.
        required_minutes: u32,
    },
    /// The GPS fix is not usable (non-finite or out-of-range numbers).
    #[error("GPS fix is invalid")]
    InvalidFix,
    /// The case's UTC offset is beyond ±18:00.
    #[error("case UTC offset out of range")]
    InvalidUtcOffset,
}

impl PolicyViolation {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyViolation::OutsideContactHours { .. } => "outside_contact_hours",
            PolicyViolation::NoticeMissing => "notice_missing",
            PolicyViolation::NoticeTooLate { .. } => "notice_too_late",
            PolicyViolation::InvalidFix => "invalid_fix",
            PolicyViolation::InvalidUtcOffset => "invalid_utc_offset",
        }
    }
}

/// Everything a check-in decision looks at.
#[derive(Debug, Clone, Copy)]
pub struct CheckInContext<'a> {
    /// When the check-in happens.
    pub at: DateTime<Utc>,
    /// The case's local time zone as a UTC offset in minutes (China: +480).
    pub case_utc_offset_minutes: i32,
    /// When notices of this visit were given to the customer.
    pub notices_given_at: &'a [DateTime<Utc>],
    /// The fix taken at check-in.
    pub fix: &'a GpsFix,
    /// The registered address's position, if it is known.
    pub registered_location: Option<GeoPoint>,
}

/// How a position compares with the registered address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationAssessment {
    /// Distance to the registered location in metres, when there is one.
    pub distance_m: Option<f64>,
    /// What the supervisor should look at; empty when all is well.
    pub flags: Vec<CheckInFlag>,
}

impl Policy {
    /// Checks the policy makes sense.
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.contact_hours_start >= self.contact_hours_end {
            return Err(PolicyError::EmptyContactHours);
        }
        if self.geofence_radius_m == 0 {
            return Err(PolicyError::ZeroGeofenceRadius);
        }
        if self.max_gps_accuracy_m == 0 {
            return Err(PolicyError::ZeroGpsAccuracy);
        }
        Ok(())
    }

    /// Decides whether a check-in is allowed, and how its position is flagged.
    ///
    /// Refusals, checked in this order: an unusable fix or offset, outside the
    /// contact hours `[start, end)` in the case's local time, and (when notice is
    /// required) no notice given at or before `at - min_notice_lead_minutes`.
    /// A notice dated after the check-in does not count.
    pub fn assess_check_in(
        &self,
        ctx: &CheckInContext<'_>,
    ) -> Result<LocationAssessment, PolicyViolation> {
        ctx.fix.check().map_err(|_| PolicyViolation::InvalidFix)?;
        self.check_contact_hours(ctx.at, ctx.case_utc_offset_minutes)?;
        if self.notice_required {
            self.check_notice(ctx.at, ctx.notices_given_at)?;
        }
        Ok(self.assess_location(ctx.fix, ctx.registered_location))
    }

    /// Checks `at` falls within the contact hours `[start, end)` in the local
    /// time of a case `case_utc_offset_minutes` from UTC.
    pub fn check_contact_hours(
        &self,
        at: DateTime<Utc>,
        case_utc_offset_minutes: i32,
    ) -> Result<(), PolicyViolation> {
        if case_utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
            return Err(PolicyViolation::InvalidUtcOffset);
        }
        let offset = Duration::minutes(i64::from(case_utc_offset_minutes));
        // The time of day is all that matters, and it only depends on the offset
        // modulo a day, so the wrapping arithmetic of NaiveTime cannot overflow.
        let local_time = at.time().overflowing_add_signed(offset).0;
        if local_time < self.contact_hours_start || local_time >= self.contact_hours_end {
            return Err(PolicyViolation::OutsideContactHours { local_time });
        }
        Ok(())
    }

    /// Checks a notice was given at least `min_notice_lead_minutes` before `at`
    /// (whether notice is required at all is the caller's question:
    /// [`Policy::notice_required`]). A notice dated after `at` does not count.
    pub fn check_notice(
        &self,
        at: DateTime<Utc>,
        notices: &[DateTime<Utc>],
    ) -> Result<(), PolicyViolation> {
        let required = Duration::minutes(i64::from(self.min_notice_lead_minutes));
        let best_lead = notices
            .iter()
            .map(|&given| at.signed_duration_since(given))
            .filter(|lead| *lead >= Duration::zero())
            .max();
        match best_lead {
            None => Err(PolicyViolation::NoticeMissing),
            Some(lead) if lead >= required => Ok(()),
            Some(lead) => Err(PolicyViolation::NoticeTooLate {
                lead_minutes: lead.num_minutes(),
                required_minutes: self.min_notice_lead_minutes,
            }),
        }
    }

    /// Judges a check-out position: location flags only, no hours or notice rule.
    pub fn assess_check_out(
        &self,
        fix: &GpsFix,
        registered: Option<GeoPoint>,
    ) -> Result<LocationAssessment, PolicyViolation> {
        fix.check().map_err(|_| PolicyViolation::InvalidFix)?;
        Ok(self.assess_location(fix, registered))
    }

    /// Flags for a fix that has passed its check. A registered location that is
    /// itself invalid is treated as missing.
    fn assess_location(&self, fix: &GpsFix, registered: Option<GeoPoint>) -> LocationAssessment {
        let mut flags = Vec::new();
        let registered = registered.filter(|p| p.check().is_ok());
        let distance_m = registered.map(|r| fix.point.distance_m(&r));
        match distance_m {
            None => flags.push(CheckInFlag::NoRegisteredLocation),
            Some(d) if d > f64::from(self.geofence_radius_m) => {
                flags.push(CheckInFlag::FarFromAddress);
            }
            Some(_) => {}
        }
        if fix.accuracy_m > f64::from(self.max_gps_accuracy_m) {
            flags.push(CheckInFlag::PoorGpsAccuracy);
        }
        if fix.mocked {
            flags.push(CheckInFlag::MockedLocation);
        }
        LocationAssessment { distance_m, flags }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Tiananmen Square, Beijing.
    fn tiananmen() -> GeoPoint {
        GeoPoint::new(39.9055, 116.3976).unwrap()
    }

    fn fix_at(point: GeoPoint) -> GpsFix {
        GpsFix {
            point,
            accuracy_m: 12.0,
            mocked: false,
            taken_at: Utc.with_ymd_and_hms(2025, 3, 14, 2, 0, 0).unwrap(),
        }
    }

    /// `h:m:s` Beijing time (UTC+8) on 14 March 2025, as a UTC instant.
    fn beijing(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        let local = chrono::NaiveDate::from_ymd_opt(2025, 3, 14)
            .unwrap()
            .and_hms_opt(h, m, s)
            .unwrap();
        Utc.from_utc_datetime(&(local - Duration::hours(8)))
    }

    fn check_in(
        at: DateTime<Utc>,
        notices: &[DateTime<Utc>],
    ) -> Result<LocationAssessment, PolicyViolation> {
        let fix = fix_at(tiananmen());
        Policy::default().assess_check_in(&CheckInContext {
            at,
            case_utc_offset_minutes: 480,
            notices_given_at: notices,
            fix: &fix,
            registered_location: Some(tiananmen()),
        })
    }

    #[test]
    fn default_policy_is_sane_and_nonsense_is_refused() {
        let policy = Policy::default();
        assert_eq!(policy.check(), Ok(()));
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
        assert_eq!(serde_json::from_str::<Policy>("{}").unwrap(), policy);

        let mut bad = policy.clone();
        bad.contact_hours_end = bad.contact_hours_start;
        assert_eq!(bad.check(), Err(PolicyError::EmptyContactHours));
        let mut bad = policy.clone();
        bad.geofence_radius_m = 0;
        assert_eq!(bad.check(), Err(PolicyError::ZeroGeofenceRadius));
        let mut bad = policy;
        bad.max_gps_accuracy_m = 0;
        assert_eq!(bad.check().unwrap_err().code(), "zero_gps_accuracy");
    }

    #[test]
    fn contact_hours_edges_in_beijing_time() {
        let notice = [beijing(7, 0, 0) - Duration::days(1)];
        // 07:59:59 Beijing is 23:59:59 UTC the day before: across UTC midnight.
        let early = beijing(7, 59, 59);
        assert_eq!(early.date_naive().to_string(), "2025-03-13");
        assert_eq!(
            check_in(early, &notice),
            Err(PolicyViolation::OutsideContactHours {
                local_time: NaiveTime::from_hms_opt(7, 59, 59).unwrap()
            })
        );
        assert!(check_in(beijing(8, 0, 0), &notice).is_ok());
        assert!(check_in(beijing(20, 59, 0), &notice).is_ok());
        assert!(check_in(beijing(20, 59, 59), &notice).is_ok());
        let late = check_in(beijing(21, 0, 0), &notice).unwrap_err();
        assert_eq!(late.code(), "outside_contact_hours");
        assert_eq!(
            late.to_string(),
            "outside contact hours (local time 21:00:00)"
        );
    }

    #[test]
    fn notice_lead_edges() {
        let at = beijing(10, 0, 0);
        assert_eq!(check_in(at, &[]), Err(PolicyViolation::NoticeMissing));
        assert!(check_in(at, &[at - Duration::minutes(30)]).is_ok());
        assert_eq!(
            check_in(at, &[at - Duration::minutes(30) + Duration::seconds(1)]),
            Err(PolicyViolation::NoticeTooLate {
                lead_minutes: 29,
                required_minutes: 30
            })
        );
        // A notice "given" after the check-in does not count...
        assert_eq!(
            check_in(at, &[at + Duration::hours(2)]),
            Err(PolicyViolation::NoticeMissing)
        );
        // ...and does not hide an earlier one that does.
        assert!(check_in(at, &[at + Duration::hours(2), at - Duration::days(1)]).is_ok());
        // Not required: no notice is fine.
        let policy = Policy {
            notice_required: false,
            ..Policy::default()
        };
        let fix = fix_at(tiananmen());
        let ctx = CheckInContext {
            at,
            case_utc_offset_minutes: 480,
            notices_given_at: &[],
            fix: &fix,
            registered_location: Some(tiananmen()),
        };
        assert!(policy.assess_check_in(&ctx).is_ok());
        let ctx = CheckInContext {
            case_utc_offset_minutes: 24 * 60,
            ..ctx
        };
        assert_eq!(
            policy.assess_check_in(&ctx),
            Err(PolicyViolation::InvalidUtcOffset)
        );
    }

    #[test]
    fn known_distances() {
        // Beijing West railway station; 6,577.5 m from Tiananmen on the WGS 84
        // ellipsoid (Vincenty's inverse formula).
        let west_station = GeoPoint::new(39.8946, 116.3220).unwrap();
        let d = tiananmen().distance_m(&west_station);
        assert!((d - 6_577.5).abs() / 6_577.5 < 0.005, "{d}");
        // Capital airport, 26,134 m on the ellipsoid.
        let airport = GeoPoint::new(40.0799, 116.6031).unwrap();
        let d = tiananmen().distance_m(&airport);
        assert!((d - 26_134.0).abs() / 26_134.0 < 0.005, "{d}");
        assert_eq!(tiananmen().distance_m(&tiananmen()), 0.0);
        let antipode = GeoPoint::new(-39.9055, 116.3976 - 180.0).unwrap();
        let half_circumference = std::f64::consts::PI * EARTH_RADIUS_M;
        assert!((tiananmen().distance_m(&antipode) - half_circumference).abs() < 1.0);
        let pole = GeoPoint::new(90.0, 0.0).unwrap();
        let other_pole = GeoPoint::new(-90.0, 180.0).unwrap();
        assert!((pole.distance_m(&other_pole) - half_circumference).abs() < 1.0);
    }

    #[test]
    fn invalid_coordinates_are_refused() {
        for (lat, lon) in [
            (f64::NAN, 0.0),
            (91.0, 0.0),
            (-90.5, 0.0),
            (f64::INFINITY, 0.0),
        ] {
            assert_eq!(GeoPoint::new(lat, lon), Err(InvalidLocation::Latitude));
        }
        for lon in [f64::NAN, 180.1, -181.0, f64::NEG_INFINITY] {
            assert_eq!(GeoPoint::new(0.0, lon), Err(InvalidLocation::Longitude));
        }
        let at = beijing(10, 0, 0);
        let notice = [at - Duration::hours(1)];
        let mut fix = fix_at(tiananmen());
        fix.point.latitude = f64::NAN;
        let mut ctx = CheckInContext {
            at,
            case_utc_offset_minutes: 480,
            notices_given_at: &notice,
            fix: &fix,
            registered_location: None,
        };
        assert_eq!(
            Policy::default().assess_check_in(&ctx),
            Err(PolicyViolation::InvalidFix)
        );
        let mut bad_accuracy = fix_at(tiananmen());
        bad_accuracy.accuracy_m = -1.0;
        ctx.fix = &bad_accuracy;
        assert_eq!(
            Policy::default().assess_check_in(&ctx).unwrap_err().code(),
            "invalid_fix"
        );
        assert_eq!(
            Policy::default().assess_check_out(&bad_accuracy, None),
            Err(PolicyViolation::InvalidFix)
        );
    }

    #[test]
    fn location_flags() {
        let policy = Policy::default();
        let home = tiananmen();
        // Points due north of home at an exact distance (same meridian).
        let north = |m: f64| {
            GeoPoint::new(
                home.latitude + (m / EARTH_RADIUS_M).to_degrees(),
                home.longitude,
            )
            .unwrap()
        };
        let near = policy
            .assess_check_out(&fix_at(north(299.0)), Some(home))
            .unwrap();
        assert!(near.flags.is_empty());
        assert!((near.distance_m.unwrap() - 299.0).abs() < 0.01);
        let far = policy
            .assess_check_out(&fix_at(north(301.0)), Some(home))
            .unwrap();
        assert_eq!(far.flags, vec![CheckInFlag::FarFromAddress]);

        let mut fix = fix_at(home);
        fix.accuracy_m = 100.0;
        assert!(
            policy
                .assess_check_out(&fix, Some(home))
                .unwrap()
                .flags
                .is_empty()
        );
        fix.accuracy_m = 100.5;
        fix.mocked = true;
        let flagged = policy.assess_check_out(&fix, None).unwrap();
        assert_eq!(flagged.distance_m, None);
        assert_eq!(
            flagged.flags,
            vec![
                CheckInFlag::NoRegisteredLocation,
                CheckInFlag::PoorGpsAccuracy,
                CheckInFlag::MockedLocation
            ]
        );
        let codes: Vec<&str> = flagged.flags.iter().map(|f| f.code()).collect();
        assert_eq!(
            serde_json::to_string(&codes).unwrap(),
            serde_json::to_string(&flagged.flags).unwrap()
        );

        // An invalid registered location counts as none.
        let broken = GeoPoint {
            latitude: f64::NAN,
            longitude: 0.0,
        };
        let flags = policy
            .assess_check_out(&fix_at(home), Some(broken))
            .unwrap()
            .flags;
        assert_eq!(flags, vec![CheckInFlag::NoRegisteredLocation]);
    }
}
