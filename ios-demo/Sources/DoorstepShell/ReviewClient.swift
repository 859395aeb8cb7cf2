import DoorstepCore
import Foundation

/// The server refused a review; `code` is its stable error code.
public struct ReviewRefused: Error, Equatable {
    public let code: String
    public let status: UInt16
}

/// A supervisor's decision, sent to the server (`POST /v1/visits/{id}/review`,
/// docs/PROTOCOL.md). The server checks role, team, state and the reason
/// code and comment, and answers with a stable code; the devices receive the
/// review on their next pull. Blocking: call off the main thread.
public struct ReviewClient: Sendable {
    private let transport: HttpTransport

    /// A client over the sync transport.
    public init(transport: HttpTransport) {
        self.transport = transport
    }

    /// Signs in from this device and sends `decision` for `visitId`.
    public func review(username: String, password: String, deviceId: String, visitId: String,
                       decision: ReviewDecision) throws {
        let login = try post("/v1/login", ["username": username, "password": password, "device_id": deviceId], token: nil)
        guard let object = try JSONSerialization.jsonObject(with: login) as? [String: Any],
              let token = object["token"] as? String else {
            throw ReviewRefused(code: "protocol", status: 200)
        }
        // A ReviewRequest: the ReviewDecision, tagged by its own "decision", inside "decision".
        let inner: [String: String]
        switch decision {
        case .approve:
            inner = ["decision": "approve"]
        case .return(let reasonCode, let comment):
            inner = ["decision": "return", "reason_code": reasonCode, "comment": comment]
        }
        _ = try post("/v1/visits/\(visitId)/review", ["decision": inner], token: token)
    }

    private func post(_ path: String, _ body: [String: Any], token: String?) throws -> Data {
        var headers = [HttpHeader(name: "content-type", value: "application/json")]
        if let token { headers.append(HttpHeader(name: "authorization", value: "Bearer \(token)")) }
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try transport.send(request: HttpRequest(method: "POST", path: path, headers: headers, body: data))
        guard (200..<300).contains(response.status) else {
            let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            throw ReviewRefused(code: object?["code"] as? String ?? "http_\(response.status)", status: response.status)
        }
        return response.body
    }
}
