package app.doorstep.shell

import app.doorstep.core.Doorstep
import app.doorstep.core.DoorstepException
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Test
import java.io.File

/** The encrypted device store, opened through the real native library. */
class EncryptedStoreTest {
    private val folder = Fixtures.tempDir()
    private val file = File(folder, "device.db")

    @AfterEach
    fun removeFolder() {
        folder.deleteRecursively()
    }

    @Test
    fun `a store reopens with its key and keeps its device id`() {
        val key = Fixtures.randomKey()
        val first = Doorstep.open(file.path, key).use { it.deviceId() }
        val second = Doorstep.open(file.path, key).use { it.deviceId() }
        assertEquals(first, second)
    }

    @Test
    fun `the file on disk is not readable SQLite`() {
        Doorstep.open(file.path, Fixtures.randomKey()).use { it.syncStatus() }
        val header = file.readBytes().copyOfRange(0, 16)
        assertFalse(header.contentEquals("SQLite format 3\u0000".toByteArray()), "the database is in plain text")
    }

    @Test
    fun `a wrong key is refused with its code and the file is unchanged`() {
        Doorstep.open(file.path, Fixtures.randomKey()).use { it.syncStatus() }
        val before = file.readBytes()
        val error = assertThrows(DoorstepException.WrongKey::class.java) {
            Doorstep.open(file.path, Fixtures.randomKey())
        }
        assertEquals("wrong_key", error.code())
        assertArrayEquals(before, file.readBytes())
    }

    @Test
    fun `a key that is not 32 bytes is invalid input`() {
        val error = assertThrows(DoorstepException.InvalidInput::class.java) {
            Doorstep.open(file.path, ByteArray(31))
        }
        assertEquals("key", error.field)
        assertEquals("invalid_input", error.code())
    }

    @Test
    fun `a malformed id from the shell is a typed error, not a crash`() {
        Doorstep.open(file.path, Fixtures.randomKey()).use { doorstep ->
            val error = assertThrows(DoorstepException::class.java) { doorstep.caseDetail("not-a-uuid") }
            assertEquals("invalid_input", error.code())
        }
    }
}
