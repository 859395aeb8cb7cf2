package app.doorstep.app

import android.content.Context
import app.doorstep.core.AttachmentKind
import app.doorstep.core.AttachmentLink
import app.doorstep.core.Doorstep
import app.doorstep.shell.DoorstepRepository
import app.doorstep.shell.HttpUrlConnectionTransport
import java.io.File
import java.time.Clock

/**
 * The app's objects, made once per process: the encrypted store (keyed from
 * Android Keystore), the repository the screens call, the transport, the sync
 * runner. Made on first use, which opens the database:
 * touch it from a background dispatcher only.
 */
class AppContainer(context: Context, serverUrl: String) {
    /** The database key, wrapped by the Keystore (the password is never kept). */
    val secrets = SecretStore(context)

    private val transport = HttpUrlConnectionTransport(serverUrl)

    private val doorstep: Doorstep =
        Doorstep.open(File(context.noBackupFilesDir, "doorstep.db").path, secrets.databaseKey())

    /** What the screens call. */
    val repository = DoorstepRepository(doorstep, transport, Clock.systemDefaultZone()).also {
        it.nameAppVersion(appVersion(context))
    }

    /** Drives sync from WorkManager, connectivity callbacks and the sync button. */
    val sync = SyncRunner(context, repository)

    /**
     * Attaches a signature (PNG) to a signature item. The repository has no
     * call for signatures yet, so this goes to the core's `attach` directly.
     */
    fun attachSignature(visitId: String, itemId: String, png: ByteArray): String =
        doorstep.attach(visitId, AttachmentKind.SIGNATURE, "image/png", png, AttachmentLink.ChecklistItem(itemId))

    /** This build as the admin's phones page shows it, e.g. `1.4.2 (142)`. */
    private fun appVersion(context: Context): String {
        val info = context.packageManager.getPackageInfo(context.packageName, 0)
        return "${info.versionName ?: "?"} (${info.longVersionCode})"
    }

}
