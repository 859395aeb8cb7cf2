package app.doorstep.shell

import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.TransportException
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.net.ServerSocket
import java.time.Duration

/** The HttpURLConnection transport against the real server on loopback. */
class HttpUrlConnectionTransportTest {
    private val server = TestServer.shared
    private val transport = HttpUrlConnectionTransport(server.url)

    private fun post(path: String, json: String) = HttpRequest(
        "POST",
        path,
        listOf(HttpHeader("content-type", "application/json")),
        json.toByteArray(),
    )

    @Test
    fun `a refused login is a response with the server's error code, not an exception`() {
        val response = transport.send(
            post("/v1/login", """{"username":"nobody","password":"wrong","device_id":"01890000-0000-7000-8000-000000000000"}"""),
        )
        assertEquals(401, response.status.toInt())
        assertTrue(
            response.headers.any { it.name == "content-type" && it.value.startsWith("application/json") },
            "${response.headers}",
        )
        assertTrue(String(response.body).contains("\"code\":\"unauthorized\""), String(response.body))
    }

    @Test
    fun `a good login returns a token`() {
        val username = "transport-" + java.util.UUID.randomUUID().toString().take(8)
        server.createAgent(username)
        val device = java.util.UUID.randomUUID().toString()
        server.registerDevice(username, device)
        val response = transport.send(
            post("/v1/login", """{"username":"$username","password":"${TestServer.PASSWORD}","device_id":"$device"}"""),
        )
        assertEquals(200, response.status.toInt(), String(response.body))
        assertTrue(String(response.body).contains("\"token\""))
    }

    @Test
    fun `an unknown path is a 404 response`() {
        val response = transport.send(HttpRequest("GET", "/v1/no-such-thing", emptyList(), ByteArray(0)))
        assertEquals(404, response.status.toInt())
    }

    @Test
    fun `nothing listening is offline`() {
        val dead = HttpUrlConnectionTransport("http://127.0.0.1:${SwitchableTransport.deadPort()}")
        assertThrows(TransportException.Offline::class.java) {
            dead.send(HttpRequest("GET", "/v1/pull", emptyList(), ByteArray(0)))
        }
    }

    @Test
    fun `a server that never answers is a timeout`() {
        // Accepts the connection (the backlog does) and never writes a byte.
        ServerSocket(0).use { silent ->
            val slow = HttpUrlConnectionTransport(
                "http://127.0.0.1:${silent.localPort}",
                readTimeout = Duration.ofMillis(300),
            )
            assertThrows(TransportException.Timeout::class.java) {
                slow.send(HttpRequest("GET", "/v1/pull", emptyList(), ByteArray(0)))
            }
        }
    }
}
