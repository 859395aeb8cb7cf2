package app.doorstep.shell

import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse
import app.doorstep.core.HttpTransport
import app.doorstep.core.TransportException
import java.io.IOException
import java.io.InputStream
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.NoRouteToHostException
import java.net.SocketTimeoutException
import java.net.URL
import java.net.UnknownHostException
import java.time.Duration

/**
 * The core's HTTP transport on [HttpURLConnection], which Android and the JVM
 * both have. Sends each request to [baseUrl] + the request's path, returns every
 * status (4xx and 5xx included) as a response, and throws a [TransportException]
 * only when there is no response: [TransportException.Offline] when the server
 * cannot be reached, [TransportException.Timeout] when it does not answer in
 * time, [TransportException.Io] for anything else. Reasons name the failure,
 * never the request's data.
 *
 * The core calls it on the thread that runs the sync, never the main thread.
 */
class HttpUrlConnectionTransport(
    baseUrl: String,
    private val connectTimeout: Duration = Duration.ofSeconds(15),
    private val readTimeout: Duration = Duration.ofSeconds(60),
) : HttpTransport {
    private val base = baseUrl.trimEnd('/')

    override fun send(request: HttpRequest): HttpResponse {
        val connection = try {
            URL(base + request.path).openConnection() as HttpURLConnection
        } catch (e: IOException) {
            throw TransportException.Io("cannot open a connection: ${e.javaClass.simpleName}")
        }
        try {
            connection.requestMethod = request.method
            connection.connectTimeout = connectTimeout.toMillis().toInt()
            connection.readTimeout = readTimeout.toMillis().toInt()
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            for (header in request.headers) {
                connection.addRequestProperty(header.name, header.value)
            }
            if (request.method != "GET" && request.method != "HEAD") {
                // Not in streaming mode: in it, a 401 answer loses its body
                // (HttpURLConnection wants to retry with credentials and cannot).
                connection.doOutput = true
                connection.outputStream.use { it.write(request.body) }
            }
            val status = connection.responseCode
            if (status < 0) throw TransportException.Io("the response has no HTTP status line")
            val body = readAll(if (status >= 400) connection.errorStream else connection.inputStream)
            val headers = connection.headerFields.flatMap { (name, values) ->
                // The status line comes under a null name.
                if (name == null) emptyList() else values.map { HttpHeader(name.lowercase(), it) }
            }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: TransportException) {
            throw e
        } catch (e: IOException) {
            throw classify(e)
        } finally {
            connection.disconnect()
        }
    }

    private fun readAll(stream: InputStream?): ByteArray = stream?.use { it.readBytes() } ?: ByteArray(0)

    private fun classify(e: IOException): TransportException = when (e) {
        is SocketTimeoutException -> TransportException.Timeout("no answer in time")
        is ConnectException, is NoRouteToHostException, is UnknownHostException ->
            TransportException.Offline("server unreachable: ${e.javaClass.simpleName}")
        else -> TransportException.Io("transfer failed: ${e.javaClass.simpleName}")
    }
}
