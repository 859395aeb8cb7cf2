package app.doorstep.app.ui

import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import app.doorstep.core.Money
import app.doorstep.core.Outcome
import app.doorstep.core.OutcomeCode
import app.doorstep.core.PromiseToPay
import app.doorstep.core.RepaymentPlan

/**
 * The visit's outcome: a code, a promise to pay or a repayment plan when the
 * agent fills them in, the two 1–5 ratings and a summary. Which parts a code
 * needs is the core's rule: it refuses an incomplete outcome with a reason.
 */
@Composable
fun OutcomeForm(current: Outcome?, currency: String, save: (Outcome) -> Unit, fail: (String) -> Unit) {
    var code by remember { mutableStateOf(current?.code ?: OutcomeCode.PROMISE_TO_PAY) }
    var promiseAmount by remember { mutableStateOf("") }
    var promiseDue by remember { mutableStateOf(current?.promise?.dueOn.orEmpty()) }
    var instalments by remember { mutableStateOf(current?.plan?.instalments?.toString().orEmpty()) }
    var instalmentAmount by remember { mutableStateOf("") }
    var firstDue by remember { mutableStateOf(current?.plan?.firstDueOn.orEmpty()) }
    var ability by remember { mutableStateOf(current?.abilityToRepay) }
    var willingness by remember { mutableStateOf(current?.willingnessToRepay) }
    var summary by remember { mutableStateOf(current?.summary.orEmpty()) }
    Column {
        Row(Modifier.horizontalScroll(rememberScrollState())) {
            for (option in OutcomeCode.entries) {
                FilterChip(selected = code == option, onClick = { code = option }, label = { Text(option.words()) })
            }
        }
        Text("Promise to pay (optional)")
        OutlinedTextField(promiseAmount, { promiseAmount = it }, label = { Text("Amount ($currency)") })
        OutlinedTextField(promiseDue, { promiseDue = it }, label = { Text("Due on (YYYY-MM-DD)") })
        Text("Repayment plan (optional)")
        OutlinedTextField(instalments, { instalments = it }, label = { Text("Instalments") })
        OutlinedTextField(instalmentAmount, { instalmentAmount = it }, label = { Text("Instalment amount ($currency)") })
        OutlinedTextField(firstDue, { firstDue = it }, label = { Text("First due on (YYYY-MM-DD)") })
        RatingRow("Ability to repay", ability) { ability = it }
        RatingRow("Willingness to repay", willingness) { willingness = it }
        OutlinedTextField(summary, { summary = it }, label = { Text("Summary") })
        Button(onClick = {
            val promise = if (promiseAmount.isBlank()) null else minorUnits(promiseAmount, currency)?.let { PromiseToPay(Money(it, currency), promiseDue.trim()) }
            val plan = if (instalments.isBlank()) null else {
                val count = instalments.trim().toUIntOrNull()
                val amount = minorUnits(instalmentAmount, currency)
                if (count != null && amount != null) RepaymentPlan(count, Money(amount, currency), firstDue.trim()) else null
            }
            if ((promiseAmount.isNotBlank() && promise == null) || (instalments.isNotBlank() && plan == null)) {
                fail("an amount or a count is not a number")
            } else {
                save(Outcome(code, promise, plan, ability, willingness, summary))
            }
        }) { Text("Save outcome") }
    }
}

@Composable
private fun RatingRow(title: String, value: UByte?, choose: (UByte) -> Unit) {
    Text(title)
    Row {
        for (rating in 1..5) {
            FilterChip(selected = value?.toInt() == rating, onClick = { choose(rating.toUByte()) }, label = { Text("$rating") })
        }
    }
}
