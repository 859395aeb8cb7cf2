package app.doorstep.app

import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpTransport
import app.doorstep.core.ReviewDecision
import org.json.JSONObject

/** The server refused a review; [code] is the server's stable error code. */
class ReviewRefused(val code: String, val status: Int) : Exception("review refused: $code ($status)")

/**
 * A supervisor's decision, sent to the server (`POST /v1/visits/{id}/review`,
 * docs/PROTOCOL.md). The server decides everything (role, team, state,
 * reason code and comment limits) and answers with a stable code; the devices
 * receive the review on their next pull. Uses the same transport as sync.
 * Blocking: call off the main thread.
 */
class ReviewClient(private val transport: HttpTransport) {
    /** Signs in as [username] from this device and sends [decision] for [visitId]. */
    fun review(username: String, password: String, deviceId: String, visitId: String, decision: ReviewDecision) {
        val token = login(username, password, deviceId)
        // A ReviewRequest: the ReviewDecision, tagged by its own "decision", inside "decision".
        val inner = JSONObject()
        when (decision) {
            is ReviewDecision.Approve -> inner.put("decision", "approve")
            is ReviewDecision.Return -> inner.put("decision", "return")
                .put("reason_code", decision.reasonCode)
                .put("comment", decision.comment)
        }
        post("/v1/visits/$visitId/review", JSONObject().put("decision", inner), token)
    }

    private fun login(username: String, password: String, deviceId: String): String {
        val body = JSONObject().put("username", username).put("password", password).put("device_id", deviceId)
        return JSONObject(post("/v1/login", body, null)).getString("token")
    }

    private fun post(path: String, body: JSONObject, token: String?): String {
        val headers = mutableListOf(HttpHeader("content-type", "application/json"))
        if (token != null) headers += HttpHeader("authorization", "Bearer $token")
        val response = transport.send(HttpRequest("POST", path, headers, body.toString().toByteArray()))
        val text = response.body.toString(Charsets.UTF_8)
        val status = response.status.toInt()
        if (status !in 200..299) {
            val code = runCatching { JSONObject(text).getString("code") }.getOrDefault("http_$status")
            throw ReviewRefused(code, status)
        }
        return text
    }
}
