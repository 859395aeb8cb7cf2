import DoorstepCore
import Foundation

/// The core's HTTP transport on URLSession. The core calls `send` synchronously
/// on the thread that runs the sync (never the main thread); it waits for the
/// data task with a semaphore. Every HTTP status (4xx and 5xx included) is a
/// response; `TransportError` only when there is none: `.Offline` when the
/// server cannot be reached, `.Timeout`, or `.Io`. Reasons name the failure,
/// never the request's data. Redirects are not followed.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let baseURL: String
    private let session: URLSession

    /// A transport to `baseURL` (e.g. `https://doorstep.example.com`).
    public init(baseURL: String, timeout: TimeInterval = 60) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.waitsForConnectivity = false
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        dispatchPrecondition(condition: .notOnQueue(.main))
        guard let url = URL(string: baseURL + request.path) else {
            throw TransportError.Io(reason: "not a URL")
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        for header in request.headers {
            urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
        }
        if request.method != "GET" && request.method != "HEAD" {
            urlRequest.httpBody = request.body
        }

        let done = DispatchSemaphore(value: 0)
        var result: Result<(Data, HTTPURLResponse), TransportError> = .failure(.Io(reason: "no answer"))
        let task = session.dataTask(with: urlRequest) { data, response, error in
            if let error = error as? URLError {
                result = .failure(Self.classify(error))
            } else if error != nil {
                result = .failure(.Io(reason: "transfer failed"))
            } else if let http = response as? HTTPURLResponse {
                result = .success((data ?? Data(), http))
            } else {
                result = .failure(.Io(reason: "the response is not HTTP"))
            }
            done.signal()
        }
        task.resume()
        done.wait()

        let (body, http) = try result.get()
        let headers = http.allHeaderFields.compactMap { name, value -> HttpHeader? in
            guard let name = name as? String else { return nil }
            return HttpHeader(name: name.lowercased(), value: "\(value)")
        }
        return HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: body)
    }

    private static func classify(_ error: URLError) -> TransportError {
        switch error.code {
        case .timedOut:
            return .Timeout(reason: "no answer in time")
        case .notConnectedToInternet, .cannotConnectToHost, .cannotFindHost, .networkConnectionLost,
             .dnsLookupFailed, .internationalRoamingOff, .dataNotAllowed:
            return .Offline(reason: "server unreachable (\(error.code.rawValue))")
        default:
            return .Io(reason: "transfer failed (\(error.code.rawValue))")
        }
    }
}

/// Refuses redirects: the server never redirects, so one is an error to see.
private final class NoRedirects: NSObject, URLSessionTaskDelegate {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
