package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.CaseQuery
import app.doorstep.core.Doorstep
import java.io.File
import java.util.Locale

/**
 * The Kotlin side of the FFI benchmark (`scripts/kotlin --bench`): the same
 * calls as the Rust `ffi-bench`, through the bindings, on a copy of the same
 * database. Prints one `name microseconds-per-call` line per call.
 */
object FfiBench {
    private const val CASES = 1_000
    private const val PAGE = 200
    private const val LIST_ROUNDS = 20
    private const val ANSWERS = 1_000
    private const val WARM_UP = 100

    @JvmStatic
    fun main(args: Array<String>) {
        val dir = File(args.single())
        val key = File(dir, "key.hex").readText().trim().chunked(2).map { it.toInt(16).toByte() }.toByteArray()
        val visit = File(dir, "visit.txt").readText().trim()
        Doorstep.open(File(dir, "kotlin.db").path, key).use { doorstep ->
            fun listPage(offset: Int) =
                doorstep.listCases(CaseQuery(null, null, null, PAGE.toUInt(), offset.toUInt())).size

            fun answer(i: Int) = doorstep.answer(visit, "ability_to_repay", AnswerValue.Integer((i % 5 + 1).toLong()))

            for (i in 0 until WARM_UP) {
                answer(i)
                listPage(i % (CASES / PAGE) * PAGE)
            }

            var started = System.nanoTime()
            var listed = 0
            repeat(LIST_ROUNDS) {
                for (page in 0 until CASES / PAGE) listed += listPage(page * PAGE)
            }
            check(listed == LIST_ROUNDS * CASES) { "listed $listed cases" }
            println(String.format(Locale.ROOT, "list_cases_page_of_200 %.1f", micros(started) / (LIST_ROUNDS * CASES / PAGE)))

            started = System.nanoTime()
            for (i in 0 until ANSWERS) answer(i)
            println(String.format(Locale.ROOT, "answer %.1f", micros(started) / ANSWERS))
        }
    }

    private fun micros(started: Long) = (System.nanoTime() - started) / 1_000.0
}
