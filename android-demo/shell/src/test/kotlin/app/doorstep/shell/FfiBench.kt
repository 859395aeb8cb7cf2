package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.CaseQuery
import app.doorstep.core.Doorstep
import java.io.File
import java.util.Locale

/**
 * The Kotlin side of the FFI benchmark (`scripts/kotlin --bench`): the same
 * calls as the Rust `ffi-bench`, through the bindings, on a copy of the same
 * database. Prints the same `name microseconds` lines, each the best of five rounds.
 */
object FfiBench {
    private const val CASES = 1_000
    private const val PAGE = 200
    private const val LISTS_PER_ROUND = 4
    private const val ANSWERS = 1_000
    private const val CROSSINGS = 100_000
    private const val ROUNDS = 5
    private const val WARM_UP = 1_000

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
                doorstep.deviceId()
            }

            var bestList = Double.MAX_VALUE
            var bestAnswer = Double.MAX_VALUE
            var bestCrossing = Double.MAX_VALUE
            var sink = 0
            repeat(ROUNDS) {
                var started = System.nanoTime()
                var listed = 0
                repeat(LISTS_PER_ROUND) {
                    for (page in 0 until CASES / PAGE) listed += listPage(page * PAGE)
                }
                check(listed == LISTS_PER_ROUND * CASES) { "listed $listed cases" }
                bestList = minOf(bestList, micros(started) / LISTS_PER_ROUND)

                started = System.nanoTime()
                for (i in 0 until ANSWERS) answer(i)
                bestAnswer = minOf(bestAnswer, micros(started) / ANSWERS)

                started = System.nanoTime()
                repeat(CROSSINGS) { sink += doorstep.deviceId().length }
                bestCrossing = minOf(bestCrossing, micros(started) / CROSSINGS)
            }
            check(sink > 0)
            println(String.format(Locale.ROOT, "list_1000_cases %.1f", bestList))
            println(String.format(Locale.ROOT, "answer %.1f", bestAnswer))
            println(String.format(Locale.ROOT, "device_id %.3f", bestCrossing))
        }
    }

    private fun micros(started: Long) = (System.nanoTime() - started) / 1_000.0
}
