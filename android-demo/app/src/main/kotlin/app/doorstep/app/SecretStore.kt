package app.doorstep.app

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The one secret the app keeps at rest: the database key, encrypted
 * (AES-256-GCM) under a key that lives in Android Keystore and never leaves it.
 * Only the wrapped bytes are written to the app's private storage. The
 * database key itself is 32 random bytes made on first start; the core opens
 * SQLCipher with it as a raw key.
 *
 * The agent's password is not kept anywhere: the sign-in screen hands it to
 * the core once, and the core keeps a refresh credential inside the
 * encrypted database. A password an older build of the app saved here is
 * deleted on start.
 */
class SecretStore(context: Context) {
    private val folder = File(context.noBackupFilesDir, "secrets").apply {
        mkdirs()
        File(this, LEGACY_SIGN_IN).delete()
    }

    /** The database key, made and wrapped on first use. */
    @Synchronized
    fun databaseKey(): ByteArray {
        read(DATABASE_KEY)?.let { return it }
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        write(DATABASE_KEY, key)
        return key
    }

    private fun read(name: String): ByteArray? {
        val file = File(folder, name)
        if (!file.exists()) return null
        val wrapped = file.readBytes()
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, wrappingKey(), GCMParameterSpec(128, wrapped, 0, IV_BYTES))
        return cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
    }

    private fun write(name: String, secret: ByteArray) {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrappingKey())
        val sealed = cipher.iv + cipher.doFinal(secret)
        val file = File(folder, name)
        val partial = File(folder, "$name.partial")
        partial.writeBytes(sealed)
        if (!partial.renameTo(file)) error("cannot store a secret")
    }

    private fun wrappingKey(): SecretKey {
        val keyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        (keyStore.getEntry(ALIAS, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val ALIAS = "doorstep.secrets"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val DATABASE_KEY = "database.key"
        /** Where builds before the refresh credential kept the user name and password. */
        const val LEGACY_SIGN_IN = "sign-in"
    }
}
