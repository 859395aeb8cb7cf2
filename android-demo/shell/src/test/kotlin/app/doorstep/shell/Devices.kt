package app.doorstep.shell

import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse
import app.doorstep.core.HttpTransport
import java.io.File
import java.net.ServerSocket
import java.util.UUID

/** A transport the test switches between the real server and a dead port. */
class SwitchableTransport(serverUrl: String) : HttpTransport {
    private val server = HttpUrlConnectionTransport(serverUrl)
    private val nowhere = HttpUrlConnectionTransport("http://127.0.0.1:${deadPort()}")

    /** Whether requests reach the server. */
    @Volatile
    var online = false

    /** The app version each request named, in order (null: none). */
    val appVersions: MutableList<String?> = java.util.concurrent.CopyOnWriteArrayList()

    override fun send(request: HttpRequest): HttpResponse {
        appVersions.add(request.headers.firstOrNull { it.name == "doorstep-app-version" }?.value)
        return if (online) server.send(request) else nowhere.send(request)
    }

    companion object {
        /** A loopback port nothing listens on (bound, then released). */
        fun deadPort(): Int = ServerSocket(0).use { it.localPort }
    }
}

/** An agent's phone: its repository, transport, folder and the cases it was given. */
class AgentDevice(
    val username: String,
    val agentId: String,
    val repository: DoorstepRepository,
    val transport: SwitchableTransport,
    val folder: File,
    val caseIds: List<String>,
    /** The cases' UTC offset: midday there now. */
    val offsetMinutes: Int,
) : AutoCloseable {
    override fun close() {
        repository.close()
        folder.deleteRecursively()
    }

    companion object {
        /**
         * Signs up a new agent on the shared server with [cases] cases, opens a
         * fresh encrypted device for them, registers it, signs in once and syncs so
         * the cases are on the device. The transport is left offline.
         */
        fun signUp(cases: Int = 2): AgentDevice {
            val server = TestServer.shared
            val username = "agent-" + UUID.randomUUID().toString().take(8)
            val agentId = server.createAgent(username)
            val offset = Fixtures.middayOffsetMinutes()
            val ids = List(cases) { UUID.randomUUID().toString() }
            server.importCases(
                ids.mapIndexed { i, id -> Fixtures.caseJson(agentId, id, "CC-$username-$i", offset) }
                    .joinToString(",", "[", "]"),
            )
            val folder = Fixtures.tempDir()
            val transport = SwitchableTransport(server.url)
            val repository = DoorstepRepository.open(
                File(folder, "device.db"),
                Fixtures.randomKey(),
                transport,
            )
            server.registerDevice(username, repository.deviceId)
            transport.online = true
            repository.signIn(username, TestServer.PASSWORD)
            repository.syncNow()
            transport.online = false
            return AgentDevice(username, agentId, repository, transport, folder, ids, offset)
        }
    }
}
