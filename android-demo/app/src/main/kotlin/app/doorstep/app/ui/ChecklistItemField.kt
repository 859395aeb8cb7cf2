package app.doorstep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Checkbox
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.doorstep.core.AnswerValue
import app.doorstep.core.ChecklistItem
import app.doorstep.core.Condition
import app.doorstep.core.ItemKind
import app.doorstep.core.Money

/** What the checklist screen does with an item. */
interface ChecklistActions {
    /** Saves [value] as the answer to [itemId]; the core validates it. */
    fun answer(itemId: String, value: AnswerValue)

    /** Withdraws the answer to [itemId]. */
    fun clear(itemId: String)

    /** Takes a photo for the photo item [itemId]. */
    fun photo(itemId: String)

    /** Attaches a signature to the signature item [itemId]. */
    fun signature(itemId: String, png: ByteArray)
}

/**
 * One checklist item, drawn from its template kind: yes/no, single and
 * multiple choice, integer, money, text, date, photo and signature. The
 * limits shown (range, length, counts) come from the template; whether an
 * answer fits them is the core's answer (`invalid_answer` with a reason).
 * [attached] is how many attachments the visit has for this item.
 */
@Composable
fun ChecklistItemField(item: ChecklistItem, current: AnswerValue?, attached: Int, actions: ChecklistActions) {
    Column(Modifier.padding(vertical = 6.dp)) {
        Text(item.label.text() + if (item.required) " *" else "", style = MaterialTheme.typography.titleSmall)
        item.help?.let { Text(it.text(), style = MaterialTheme.typography.bodySmall) }
        item.visibleWhen?.let { Text("Asked only when ${describe(it)}", style = MaterialTheme.typography.labelSmall) }
        when (val kind = item.kind) {
            is ItemKind.YesNo -> Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                val yes = (current as? AnswerValue.YesNo)?.v1
                FilterChip(selected = yes == true, onClick = { actions.answer(item.id, AnswerValue.YesNo(true)) }, label = { Text("Yes") })
                FilterChip(selected = yes == false, onClick = { actions.answer(item.id, AnswerValue.YesNo(false)) }, label = { Text("No") })
            }
            is ItemKind.SingleChoice -> {
                val chosen = (current as? AnswerValue.Choice)?.v1
                for (option in kind.options) {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        RadioButton(selected = chosen == option.id, onClick = { actions.answer(item.id, AnswerValue.Choice(option.id)) })
                        Text(option.label.text())
                    }
                }
            }
            is ItemKind.MultipleChoice -> {
                val chosen = (current as? AnswerValue.Choices)?.v1.orEmpty()
                Text("Choose ${kind.minSelected} to ${kind.maxSelected}", style = MaterialTheme.typography.labelSmall)
                for (option in kind.options) {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        Checkbox(checked = option.id in chosen, onCheckedChange = { on ->
                            val next = if (on) chosen + option.id else chosen - option.id
                            actions.answer(item.id, AnswerValue.Choices(next))
                        })
                        Text(option.label.text())
                    }
                }
            }
            is ItemKind.Integer -> TypedField(
                shown = (current as? AnswerValue.Integer)?.v1?.toString().orEmpty(),
                hint = "${kind.min} to ${kind.max}",
                keyboard = KeyboardType.Number,
            ) { text -> text.trim().toLongOrNull()?.let { actions.answer(item.id, AnswerValue.Integer(it)) } }
            is ItemKind.Money -> TypedField(
                shown = (current as? AnswerValue.Money)?.v1?.text()?.substringAfter(' ').orEmpty(),
                hint = kind.currency,
                keyboard = KeyboardType.Decimal,
            ) { text -> minorUnits(text, kind.currency)?.let { actions.answer(item.id, AnswerValue.Money(Money(it, kind.currency))) } }
            is ItemKind.Text -> TypedField(
                shown = (current as? AnswerValue.Text)?.v1.orEmpty(),
                hint = "at most ${kind.maxChars} characters",
                keyboard = KeyboardType.Text,
            ) { text -> actions.answer(item.id, AnswerValue.Text(text)) }
            is ItemKind.Date -> TypedField(
                shown = (current as? AnswerValue.Date)?.v1.orEmpty(),
                hint = listOfNotNull(kind.notBefore?.let { "from $it" }, kind.notAfter?.let { "until $it" })
                    .joinToString(" ").ifEmpty { "YYYY-MM-DD" },
                keyboard = KeyboardType.Text,
            ) { text -> actions.answer(item.id, AnswerValue.Date(text.trim())) }
            is ItemKind.Photo -> Row(verticalAlignment = Alignment.CenterVertically) {
                Text("$attached photo(s); ${kind.minCount} to ${kind.maxCount}")
                OutlinedButton(onClick = { actions.photo(item.id) }, modifier = Modifier.padding(start = 8.dp)) { Text("Take photo") }
            }
            is ItemKind.Signature -> {
                if (attached > 0) Text("Signed ($attached)")
                SignaturePad { png -> actions.signature(item.id, png) }
            }
        }
        if (current != null) {
            TextButton(onClick = { actions.clear(item.id) }) { Text("Clear answer") }
        }
    }
}

/** A text field with a Save button, for answers typed as text. */
@Composable
private fun TypedField(shown: String, hint: String, keyboard: KeyboardType, save: (String) -> Unit) {
    var text by remember(shown) { mutableStateOf(shown) }
    Row(verticalAlignment = Alignment.CenterVertically) {
        OutlinedTextField(
            text,
            { text = it },
            label = { Text(hint) },
            keyboardOptions = KeyboardOptions(keyboardType = keyboard),
            modifier = Modifier.weight(1f),
        )
        TextButton(onClick = { save(text) }) { Text("Save") }
    }
}

/** A display condition in words (the core decides what it means at submit). */
private fun describe(condition: Condition): String = when (condition) {
    is Condition.Answered -> "\"${condition.item}\" is answered"
    is Condition.YesNoEquals -> "\"${condition.item}\" is ${if (condition.value) "yes" else "no"}"
    is Condition.ChoiceIn -> "\"${condition.item}\" is one of ${condition.options.joinToString()}"
    is Condition.ChoicesContain -> "\"${condition.item}\" includes ${condition.option}"
}
