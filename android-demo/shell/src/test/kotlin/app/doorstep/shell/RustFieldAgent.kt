package app.doorstep.shell

import java.io.File
import java.util.concurrent.TimeUnit

/**
 * The Rust agent's phone: the `field_agent` binary of the tests crate (path in
 * the system property `doorstep.fieldAgent`), one `doorstep-core` device on
 * [db] with the ureq transport, run one step at a time. Each step prints
 * `name=value` lines; a failed step prints `error=<code>` and exits 1.
 */
class RustFieldAgent(
    private val db: File,
    private val key: String,
    private val username: String,
    private val password: String,
) {
    /** What a step printed, and whether it succeeded. */
    data class Result(val ok: Boolean, val values: Map<String, String>) {
        /** A printed value; fails the test when it is missing. */
        operator fun get(name: String): String = values[name] ?: error("field_agent printed no $name: $values")
    }

    /** Runs [step] against the server at [serverUrl]; [options] are `--name value` pairs. */
    fun run(serverUrl: String, step: String, vararg options: Pair<String, String>): Result {
        val binary = System.getProperty("doorstep.fieldAgent") ?: error("set -Ddoorstep.fieldAgent")
        val command = mutableListOf(
            binary, "--db", db.path, "--key", key, "--server", serverUrl,
            "--username", username, "--password", password, step,
        )
        for ((name, value) in options) command += listOf("--$name", value)
        val process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val output = process.inputStream.bufferedReader().readText()
        check(process.waitFor(60, TimeUnit.SECONDS)) { "field_agent $step did not finish" }
        val status = process.exitValue()
        check(status == 0 || status == 1) { "field_agent $step: exit status $status: $output" }
        val values = output.lines().filter { '=' in it }.associate { it.substringBefore('=') to it.substringAfter('=') }
        return Result(status == 0, values)
    }

    /** Runs [step] and fails the test unless it succeeded. */
    fun ok(serverUrl: String, step: String, vararg options: Pair<String, String>): Result =
        run(serverUrl, step, *options).also { check(it.ok) { "field_agent $step failed: ${it.values}" } }
}
