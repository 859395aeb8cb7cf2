package app.doorstep.app

import app.doorstep.core.DoorstepException

/**
 * What the agent sees for a failed call: the core's stable code and its
 * explanation (never customer data, the core guarantees that). The wording
 * of each case is the core's; the app only lays it out.
 */
fun describe(error: Throwable): String = when (error) {
    is DoorstepException.IncompleteChecklist ->
        "${error.code()}: " + error.problems.joinToString { "${it.itemId} (${it.reason.name.lowercase()})" }
    is DoorstepException.PolicyViolation -> "${error.code()}: ${error.policy} — ${error.explanation}"
    is DoorstepException -> "${error.code()}: ${error.message}"
    else -> error.javaClass.simpleName
}
