package app.doorstep.shell

import java.io.File
import java.nio.file.Files
import java.util.UUID
import java.util.concurrent.TimeUnit

/**
 * The real `doorstep-server` binary (path in the system property
 * `doorstep.server`) on a fresh SQLite data folder, serving on a loopback port
 * the system picks. One server is shared by every test class ([shared]); each
 * test signs up its own agent, so tests do not see each other's cases.
 */
class TestServer private constructor(private val binary: File, private val data: File) : AutoCloseable {
    private val process: Process
    /** The base URL, `http://127.0.0.1:<port>`. */
    val url: String

    init {
        admin("create-user", "--username", SUPERVISOR, "--password", PASSWORD, "--role", "supervisor")
        admin("publish-template", "--file", File(repoRoot(), "core/src/checklist/home_verification.json").path)
        process = ProcessBuilder(binary.path, "--data", data.path, "serve", "--listen", "127.0.0.1:0")
            .redirectError(File(data, "server.log"))
            .start()
        val line = process.inputStream.bufferedReader().readLine()
            ?: error("doorstep-server exited before listening; see ${data.path}/server.log")
        url = "http://" + line.removePrefix("listening on ").trim()
    }

    /** Runs an admin command on the server's data folder; returns its output. */
    fun admin(vararg args: String): String {
        val command = listOf(binary.path, "--data", data.path) + args
        val run = ProcessBuilder(command).redirectErrorStream(true).start()
        val output = run.inputStream.bufferedReader().readText()
        check(run.waitFor(60, TimeUnit.SECONDS) && run.exitValue() == 0) { "${args[0]} failed: $output" }
        return output
    }

    /** Creates an agent on the supervisor's team; returns their user id. */
    fun createAgent(username: String): String =
        admin("create-user", "--username", username, "--password", PASSWORD, "--role", "agent", "--supervisor", SUPERVISOR)
            .trim().removePrefix("user ")

    /** Registers a device to a user. */
    fun registerDevice(username: String, deviceId: String) {
        admin("create-device", "--username", username, "--device-id", deviceId)
    }

    /** Imports cases given as the server's JSON array of cases. */
    fun importCases(json: String) {
        val file = File(data, "cases-${UUID.randomUUID()}.json")
        file.writeText(json)
        admin("import-cases", "--file", file.path)
    }

    override fun close() {
        process.destroy()
        process.waitFor(10, TimeUnit.SECONDS)
        data.deleteRecursively()
    }

    companion object {
        const val SUPERVISOR = "lin.supervisor"
        const val PASSWORD = "correct horse battery staple"

        /** The server every test class shares, started on first use, stopped when the JVM exits. */
        val shared: TestServer by lazy {
            val server = start()
            Runtime.getRuntime().addShutdownHook(Thread { server.close() })
            server
        }

        /** A server of its own on a fresh data folder; the caller closes it. */
        fun start(): TestServer {
            val binary = File(System.getProperty("doorstep.server") ?: error("set -Ddoorstep.server"))
            return TestServer(binary, Files.createTempDirectory("doorstep-server").toFile())
        }

        /** The repository's root (system property `doorstep.repo`). */
        fun repoRoot(): File = File(System.getProperty("doorstep.repo") ?: ".")
    }
}
