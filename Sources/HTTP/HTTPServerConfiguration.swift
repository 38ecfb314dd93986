public import Support

/// Limits and timeouts of `HTTPServer`. Durations are wall-clock; sizes are bytes.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind (IPv4 literal or `localhost`).
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (see `HTTPServer.start()`).
    public var port: Int = 0
    /// Event-loop threads; connections are spread over them.
    public var eventLoops: Int = 1
    /// Open connections beyond this are answered 503 and closed.
    public var maxConnections: Int = 1024
    /// Request line longer than this: 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Request line plus header fields larger than this: 431.
    public var maxHeaderBytes: Int = 16 * 1024
    public var maxHeaderCount: Int = 100
    /// Bodies larger than this: 413, and the connection is closed without reading the body.
    public var maxBodyBytes: Int = 64 * 1024
    /// Pipelined requests handled at once per connection; further ones wait in the socket.
    public var maxPipelinedRequests: Int = 16
    /// From the first byte of a request (empty lines before it included) until its head is
    /// complete: 408 and close after this. Bytes that complete no head do not restart it.
    public var headerTimeout: Duration = .seconds(10)
    /// From the end of the head until the body is complete: 408 and close after this.
    public var bodyTimeout: Duration = .seconds(30)
    /// A connection with no request for this long (since it opened or its last answer) is
    /// closed. Behind a reverse proxy, keep it longer than the proxy's upstream keep-alive.
    public var idleTimeout: Duration = .seconds(75)
    /// A client that does not read its responses for this long is cut off.
    public var writeTimeout: Duration = .seconds(30)
    /// On stop, requests in flight get this long to finish before connections are closed anyway.
    public var shutdownGracePeriod: Duration = .seconds(10)

    /// Where the server reports trouble that is not one request's (out of file descriptors).
    public var logger: Logger = .silent

    public init() {}

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var parserLimits: HTTPRequestParser.Limits {
        .init(maxRequestLineBytes: maxRequestLineBytes, maxHeaderBytes: maxHeaderBytes,
              maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
    }

    /// The loop's deadline resolution: a quarter of the shortest timeout, between 5 and 100 ms.
    var tick: Duration {
        let shortest = [headerTimeout, bodyTimeout, idleTimeout, writeTimeout].min()!
        return max(.milliseconds(5), min(.milliseconds(100), shortest / 4))
    }
}
