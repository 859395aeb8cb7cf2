package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.GeoPoint
import app.doorstep.core.GpsFix
import app.doorstep.core.Money
import app.doorstep.core.Outcome
import app.doorstep.core.OutcomeCode
import app.doorstep.core.PromiseToPay
import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset
import java.util.UUID

/** Values the tests share: keys, cases, fixes, answers, outcomes. */
object Fixtures {
    /** The registered position of every test case's home address. */
    val HOME = GeoPoint(39.9087, 116.4605)

    /** A random 32-byte database key, as the app keeps in Android Keystore. */
    fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    /** A fresh folder for a test's device database. */
    fun tempDir(): File = Files.createTempDirectory("doorstep-device").toFile()

    /**
     * The UTC offset, in minutes, of a place where it is midday now, so that a
     * check-in made now falls inside contact hours (08:00–21:00 local time)
     * whenever the tests run. Always within ±12 hours.
     */
    fun middayOffsetMinutes(now: Instant = Instant.now()): Int {
        val minuteOfDay = (now.epochSecond / 60 % (24 * 60)).toInt()
        var offset = 12 * 60 - minuteOfDay
        if (offset > 12 * 60) offset -= 24 * 60
        if (offset <= -12 * 60) offset += 24 * 60
        return offset
    }

    /** A case assigned to [agentId], as the server's import JSON. */
    fun caseJson(agentId: String, id: String = UUID.randomUUID().toString(), ref: String, offsetMinutes: Int): String =
        """
        {"id":"$id","external_ref":"$ref",
         "customer":{"name":"王小明","national_id_masked":"**************123X",
           "phones":[{"label":"mobile","number":"+86 138 0000 0000"}],
           "addresses":[{"kind":"home","text":"北京市朝阳区建国路 88 号 3 单元 502",
             "location":{"latitude":${HOME.latitude},"longitude":${HOME.longitude}}}]},
         "product":"Platinum credit card","overdue_amount":{"minor_units":1250000,"currency":"CNY"},
         "days_past_due":45,"assigned":{"primary":"$agentId","partner":null},"priority":3,
         "due_date":"2026-12-05","status":"new","utc_offset_minutes":$offsetMinutes}
        """.trimIndent()

    /** A good fix a few metres from the registered address. */
    fun fixAtHome(at: Instant = Instant.now()) =
        GpsFix(GeoPoint(HOME.latitude + 0.0001, HOME.longitude), 8.0, false, at)

    /** An answer to every required item of the default template. */
    fun completeAnswers(): List<Pair<String, AnswerValue>> = listOf(
        "identity_confirmed" to AnswerValue.YesNo(true),
        "address_confirmed" to AnswerValue.YesNo(true),
        "residence_status" to AnswerValue.Choice("rented"),
        "employment_status" to AnswerValue.Choice("self_employed"),
        "monthly_income" to AnswerValue.Money(Money(650_000, "CNY")),
        "overdue_reason" to AnswerValue.Choice("business_failure"),
        "household_situation" to AnswerValue.Text("夫妻二人，一个孩子上小学"),
        "ability_to_repay" to AnswerValue.Integer(3),
        "willingness_to_repay" to AnswerValue.Integer(4),
        "contact_details_updated" to AnswerValue.YesNo(false),
    )

    /** A promise to pay ¥5,000 ten days after the visit day at the case's offset. */
    fun promiseOutcome(offsetMinutes: Int, now: Instant = Instant.now()): Outcome {
        val visitDay = LocalDate.ofInstant(now, ZoneOffset.ofTotalSeconds(offsetMinutes * 60))
        return Outcome(
            OutcomeCode.PROMISE_TO_PAY,
            PromiseToPay(Money(500_000, "CNY"), visitDay.plusDays(10).toString()),
            null,
            3u,
            4u,
            "客户承诺十天内还款五千元",
        )
    }

    /** A few bytes that look like a JPEG. */
    val PHOTO = byteArrayOf(0xff.toByte(), 0xd8.toByte(), 0xff.toByte(), 0xe0.toByte(), 1, 2, 3, 4)

}
