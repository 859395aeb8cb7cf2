package app.doorstep.app.ui

import android.graphics.Bitmap
import android.graphics.Paint
import androidx.compose.foundation.Canvas
import androidx.compose.foundation.border
import androidx.compose.foundation.gestures.detectDragGestures
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.material3.TextButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.mutableStateListOf
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.unit.dp
import java.io.ByteArrayOutputStream

/** A box the customer signs in with a finger; "Save" hands the strokes to [onSigned] as a PNG. */
@Composable
fun SignaturePad(onSigned: (png: ByteArray) -> Unit) {
    val strokes = remember { mutableStateListOf<List<Offset>>() }
    val current = remember { mutableStateListOf<Offset>() }
    Column {
        Canvas(
            Modifier.fillMaxWidth().height(160.dp).border(1.dp, Color.Gray).pointerInput(Unit) {
                detectDragGestures(
                    onDragStart = { current.clear(); current.add(it) },
                    onDrag = { change, _ -> current.add(change.position) },
                    onDragEnd = { strokes.add(current.toList()); current.clear() },
                )
            },
        ) {
            for (stroke in strokes + listOf(current.toList())) {
                if (stroke.size < 2) continue
                val path = Path().apply {
                    moveTo(stroke[0].x, stroke[0].y)
                    for (point in stroke.drop(1)) lineTo(point.x, point.y)
                }
                drawPath(path, Color.Black, style = Stroke(width = 4f))
            }
        }
        Row {
            TextButton(onClick = { strokes.clear() }) { Text("Clear") }
            TextButton(enabled = strokes.isNotEmpty(), onClick = { onSigned(render(strokes)) }) { Text("Save signature") }
        }
    }
}

/** The strokes on a white bitmap, as PNG bytes. */
private fun render(strokes: List<List<Offset>>): ByteArray {
    val points = strokes.flatten()
    val width = (points.maxOf { it.x } + 8).toInt().coerceAtLeast(1)
    val height = (points.maxOf { it.y } + 8).toInt().coerceAtLeast(1)
    val bitmap = Bitmap.createBitmap(width, height, Bitmap.Config.ARGB_8888)
    val canvas = android.graphics.Canvas(bitmap)
    canvas.drawColor(android.graphics.Color.WHITE)
    val paint = Paint().apply {
        color = android.graphics.Color.BLACK
        strokeWidth = 4f
        style = Paint.Style.STROKE
        isAntiAlias = true
    }
    for (stroke in strokes) {
        for (i in 1 until stroke.size) {
            canvas.drawLine(stroke[i - 1].x, stroke[i - 1].y, stroke[i].x, stroke[i].y, paint)
        }
    }
    return ByteArrayOutputStream().use { out ->
        bitmap.compress(Bitmap.CompressFormat.PNG, 100, out)
        out.toByteArray()
    }
}
