import CoreLocation
import DoorstepCore

/// The phone could not give a position.
struct NoLocation: Error {}

/// One current position fix from Core Location, as the core's `GpsFix`:
/// position, accuracy, whether it was simulated, and when. Distance to the
/// address and the flags are the core's answer to `checkIn`.
@MainActor
final class LocationReader: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var waiting: CheckedContinuation<CLLocation, Error>?

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
    }

    /// Asks for permission when needed and waits for one fix.
    func currentFix() async throws -> GpsFix {
        if manager.authorizationStatus == .notDetermined { manager.requestWhenInUseAuthorization() }
        let location = try await withCheckedThrowingContinuation { continuation in
            waiting?.resume(throwing: NoLocation())
            waiting = continuation
            manager.requestLocation()
        }
        let simulated = location.sourceInformation?.isSimulatedBySoftware ?? false
        return GpsFix(
            point: GeoPoint(latitude: location.coordinate.latitude, longitude: location.coordinate.longitude),
            accuracyM: location.horizontalAccuracy,
            mocked: simulated,
            takenAt: location.timestamp
        )
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let last = locations.last else { return }
        Task { @MainActor in
            waiting?.resume(returning: last)
            waiting = nil
        }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        Task { @MainActor in
            waiting?.resume(throwing: error)
            waiting = nil
        }
    }
}
