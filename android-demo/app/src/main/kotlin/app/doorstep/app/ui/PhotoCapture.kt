package app.doorstep.app.ui

import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.FileProvider
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** Starts the camera for a photo that belongs to [itemId] (a photo item) or, when null, to the visit. */
fun interface PhotoCapture {
    /** Opens the camera app. */
    fun take(itemId: String?)
}

/**
 * The camera through the system's camera app (ActivityResult `TakePicture`):
 * it writes the JPEG into the app's private cache, the bytes go to [onPhoto]
 * (which hands them to the core's encrypted store) and the file is deleted at
 * once, so no photo of a customer stays outside the encrypted store.
 */
@Composable
fun rememberPhotoCapture(onPhoto: (jpeg: ByteArray, itemId: String?) -> Unit, onFailure: (String) -> Unit): PhotoCapture {
    val context = LocalContext.current
    val scope = rememberCoroutineScope()
    val file = remember { File(File(context.cacheDir, "photos").apply { mkdirs() }, "capture.jpg") }
    val uri = remember { FileProvider.getUriForFile(context, "${context.packageName}.photos", file) }
    var target by remember { mutableStateOf<String?>(null) }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { saved ->
        scope.launch {
            val bytes = withContext(Dispatchers.IO) {
                val taken = if (saved && file.length() > 0) file.readBytes() else null
                file.delete()
                taken
            }
            if (bytes != null) onPhoto(bytes, target) else onFailure("no photo was taken")
        }
    }
    return PhotoCapture { itemId ->
        target = itemId
        launcher.launch(uri)
    }
}
