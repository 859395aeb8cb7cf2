package app.doorstep.shell

import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse

/**
 * A supervisor speaking to the server's API directly (docs/PROTOCOL.md), signed
 * in from their own registered device: review decisions and attachment
 * downloads. JSON is written by hand; the tests control every string.
 */
class SupervisorApi(serverUrl: String, username: String, password: String, deviceId: String) {
    private val transport = HttpUrlConnectionTransport(serverUrl)
    private val token: String

    init {
        val login = post("/v1/login", """{"username":"$username","password":"$password","device_id":"$deviceId"}""", signedIn = false)
        check(login.status.toInt() == 200) { "supervisor login: HTTP ${login.status}" }
        token = Regex("\"token\":\"([0-9a-f]{64})\"").find(login.body.decodeToString())?.groupValues?.get(1)
            ?: error("no token in the login answer")
    }

    /** Approves a submitted visit; returns the HTTP status. The body is a `ReviewRequest`. */
    fun approve(visitId: String): Int = review(visitId, """{"decision":{"decision":"approve"}}""")

    /** Returns a submitted visit to its agent; returns the HTTP status. */
    fun returnVisit(visitId: String, reasonCode: String, comment: String): Int =
        review(visitId, """{"decision":{"decision":"return","reason_code":"$reasonCode","comment":"$comment"}}""")

    /** `GET /v1/attachments/{sha256}`: the status and the bytes. */
    fun attachment(sha256: String): HttpResponse =
        transport.send(HttpRequest("GET", "/v1/attachments/$sha256", listOf(bearer()), ByteArray(0)))

    private fun review(visitId: String, body: String): Int =
        post("/v1/visits/$visitId/review", body, signedIn = true).status.toInt()

    private fun bearer() = HttpHeader("authorization", "Bearer $token")

    private fun post(path: String, body: String, signedIn: Boolean): HttpResponse {
        val headers = mutableListOf(HttpHeader("content-type", "application/json"))
        if (signedIn) headers += bearer()
        return transport.send(HttpRequest("POST", path, headers, body.toByteArray()))
    }
}
